import { defineConfig } from 'vite';

// The build writes dist/: index.html, and under assets/ the bundles with a
// content hash in their names ([name]-[hash]), which the publisher serves
// immutable. The manifest (dist/.vite/manifest.json) lists those outputs.
export default defineConfig({
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    manifest: true,
    emptyOutDir: true,
  },
});
