import { MemoryContainerStore } from "../../test/memory-store.js";
import { containerStoreSuite } from "./index.js";

containerStoreSuite("memory (the pure helpers)", async () => ({ store: new MemoryContainerStore() }));
