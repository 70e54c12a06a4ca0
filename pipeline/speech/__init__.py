"""Speech engines: espeak-ng (offline default), Coqui TTS, OpenAI TTS. Each returns a Narration."""

from pipeline.speech.base import Narration, SpeechEngine, Voice

__all__ = ["Narration", "SpeechEngine", "Voice"]
