"""Pure media logic: script, speech, captions, plan, effects, render, audio, platforms (no Ray, no I/O at import)."""
