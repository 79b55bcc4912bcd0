// AudioWorklet on the phone: the microphone at 8 kHz, as G.711 µ-law, in 40 ms chunks.
"use strict";
const CHUNK = 320;  // samples: 40 ms at 8 kHz

function ulaw(sample) {
  let x = Math.round(Math.max(-1, Math.min(1, sample)) * 32767);
  const sign = x < 0 ? 0x80 : 0;
  x = Math.min(Math.abs(x), 32635) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (x & mask) === 0 && exponent > 0; mask >>= 1) exponent -= 1;
  const mantissa = (x >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.chunk = new Uint8Array(CHUNK);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      for (let i = 0; i < channel.length; i += 1) {
        this.chunk[this.filled] = ulaw(channel[i]);
        this.filled += 1;
        if (this.filled === CHUNK) {
          this.port.postMessage(this.chunk.buffer, [this.chunk.buffer]);
          this.chunk = new Uint8Array(CHUNK);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("wachter-capture", Capture);
