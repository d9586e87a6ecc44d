import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Built to static files that the Tauri app embeds (src-tauri/tauri.conf.json: ../ui/dist).
export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  clearScreen: false,
  build: {
    target: "safari15",
    outDir: "dist",
    emptyOutDir: true,
    // No inline script or style is emitted, so the CSP can forbid them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  // Component tests mount into jsdom: resolve Svelte's browser build, not its server one.
  resolve: mode === "test" ? { conditions: ["browser"] } : undefined,
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
}));
