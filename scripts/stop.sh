#!/usr/bin/env bash
# npm run stop: stops what npm start brought up (by the PIDs it recorded).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stop_daemon web-server
stop_daemon worker
stop_daemon functions-server
stop_daemon s3-server
cluster_stop "$(stack_home)/dev"
