// Node globals mqtt-packet's dependencies expect, injected by esbuild into the bundle.
import { Buffer } from 'buffer';
import process from 'process/browser.js';

export { Buffer, process };
