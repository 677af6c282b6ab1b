import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    // .vite/manifest.json: the publisher takes its output as fingerprinted.
    manifest: true,
    // Emit every asset as a file, as a real app with larger images does.
    assetsInlineLimit: 0,
  },
});
