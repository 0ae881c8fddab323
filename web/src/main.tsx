/**
 * Starts the web UI. A token in the link's fragment is taken before anything else runs, so it
 * leaves the address bar at once.
 */
import { render } from "preact";
import { takeFragmentToken } from "./auth.ts";
import { Root } from "./components/root.tsx";
import "./styles.css";

takeFragmentToken();
const container = document.getElementById("app");
if (container === null) throw new Error("index.html has no #app element");
render(<Root />, container);
