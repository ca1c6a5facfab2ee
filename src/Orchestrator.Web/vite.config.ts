import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// Served by the gateway under /ui/. Asset names carry a content hash, so the gateway can cache them for a year.
export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // The CSP forbids inline script: no module-preload polyfill, which vite would inline.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        // The terminal and the editor load with the pages that use them, keeping the first load small.
        manualChunks: (id) => (id.includes('node_modules/@xterm') ? 'terminal' : id.includes('node_modules/@codemirror') || id.includes('node_modules/codemirror') || id.includes('node_modules/@lezer') ? 'editor' : undefined),
      },
    },
  },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true }, '/openapi': 'http://127.0.0.1:8080' },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
