#!/usr/bin/env node
// Installed entry point: runs the compiled dist/ (rebuilt when src/ changed), tsx as a fall-back.
import '../scripts/start.mjs'
