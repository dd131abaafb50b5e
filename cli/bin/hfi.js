#!/usr/bin/env node
// `hfi` / `hfi-cli`: run the TypeScript entry point through tsx's loader.
import { register } from "tsx/esm/api";

register();
await import("../main.ts");
