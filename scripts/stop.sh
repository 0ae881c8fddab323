#!/usr/bin/env bash
# npm run stop: stops the local stack that npm start brought up.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cluster_stop "$(stack_home)/dev"
