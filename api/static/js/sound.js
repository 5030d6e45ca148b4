// A critical alert sounds: a two-tone alarm made with WebAudio (no sound file to ship), again every
// 30 s while a critical alert is still open and not acknowledged. A mute button silences it.
let context = null;
let muted = false;

export function unlockAudio() {
  // Browsers allow sound only after a user gesture: the sign-in click is one.
  if (!context) context = new (window.AudioContext || window.webkitAudioContext)();
  if (context.state === "suspended") context.resume();
}

export function setMuted(value) {
  muted = value;
}

export function isMuted() {
  return muted;
}

export function alarm() {
  if (muted || !context) return;
  const start = context.currentTime;
  for (let i = 0; i < 3; i++) {
    for (const [offset, freq] of [[0, 880], [0.18, 660]]) {
      const osc = context.createOscillator();
      const gain = context.createGain();
      osc.type = "square";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.12, start + i * 0.45 + offset);
      gain.gain.exponentialRampToValueAtTime(0.001, start + i * 0.45 + offset + 0.17);
      osc.connect(gain).connect(context.destination);
      osc.start(start + i * 0.45 + offset);
      osc.stop(start + i * 0.45 + offset + 0.18);
    }
  }
  window.seawatchAlarms = (window.seawatchAlarms || 0) + 1; // lets the browser tests see it rang
}
