/** Entry point of the bundled program (see main.ts). */
import { main } from "./main.js";

await main(process.argv.slice(2), process.argv[1] ?? "containerd-shim-tsrunc-v1");
