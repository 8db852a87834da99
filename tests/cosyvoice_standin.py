"""A stand-in for FunAudioLLM/CosyVoice's ``cosyvoice.cli.cosyvoice`` (numpy only, no weights, no torch).

It has the generator interface CosyVoice/api.py's adapter relies on: ``sample_rate``, ``list_available_spks``,
``add_zero_shot_spk`` and ``inference_sft / inference_zero_shot / inference_instruct2`` yielding one
``{"tts_speech": float array [1, samples]}`` per sentence. Each method speaks at its own constant amplitude
(sft 0.1, zero-shot 0.2, instruct2 0.3) for 0.05 s per character, so a test can tell from the audio alone
which method ran and whether every segment arrived. Tests also copy this file into a fake checkout as
``cosyvoice/cli/cosyvoice.py`` to run the real server on it.

The markers, as upstream (FunAudioLLM/CosyVoice at ace7c47): CosyVoice3's LM asserts ``<|endofprompt|>`` in the
text it reads (``cosyvoice/llm/llm.py``: ``assert 151646 in text``; prompt text + tts text, so on the SFT path the
tts text alone) and what precedes the marker is an instruction, not speech. CosyVoice2's instruct text ends with
the marker in the official examples (``example.py``); without it the stand-in reads the instruction aloud as part
of the text (modelled on the LM reading prompt text and tts text as one sequence, not measured on a real model).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

AMPLITUDE = {"sft": 0.1, "zero_shot": 0.2, "instruct2": 0.3}
END_OF_PROMPT = "<|endofprompt|>"
SECONDS_PER_CHAR = 0.05


class CosyVoice2:
    """Behaves like CosyVoice2 for the adapter: same method names, arguments and yielded dicts."""

    sample_rate = 24000

    def __init__(self, model_dir: str, load_jit: bool = False, load_trt: bool = False, load_vllm: bool = False,
                 fp16: bool = False, trt_concurrent: int = 1):
        self.model_dir, self.options = model_dir, {"load_trt": load_trt, "fp16": fp16}
        self.spk2info: dict[str, dict] = {"中文女": {}, "英文男": {}}
        self.calls: list[tuple] = []

    def list_available_spks(self) -> list[str]:
        return list(self.spk2info)

    def add_zero_shot_spk(self, prompt_text: str, prompt_wav: str, zero_shot_spk_id: str) -> bool:
        assert Path(prompt_wav).is_file(), prompt_wav
        self.spk2info[zero_shot_spk_id] = {"prompt_text": prompt_text}
        self.calls.append(("add_zero_shot_spk", prompt_text, prompt_wav, zero_shot_spk_id))
        return True

    def inference_sft(self, tts_text, spk_id, stream=False, speed=1.0, text_frontend=True):
        assert spk_id in self.spk2info, spk_id
        self.calls.append(("inference_sft", tts_text, spk_id, speed))
        yield from self._speak(tts_text, "sft", speed)

    def inference_zero_shot(self, tts_text, prompt_text, prompt_wav, zero_shot_spk_id="", stream=False, speed=1.0,
                            text_frontend=True):
        assert zero_shot_spk_id in self.spk2info or Path(prompt_wav).is_file()
        self.calls.append(("inference_zero_shot", tts_text, prompt_text, prompt_wav, zero_shot_spk_id, speed))
        yield from self._speak(tts_text, "zero_shot", speed)

    def inference_instruct2(self, tts_text, instruct_text, prompt_wav, zero_shot_spk_id="", stream=False, speed=1.0,
                            text_frontend=True):
        assert Path(prompt_wav).is_file() or zero_shot_spk_id in self.spk2info
        self.calls.append(("inference_instruct2", tts_text, instruct_text, prompt_wav, zero_shot_spk_id, speed))
        spoken = tts_text if instruct_text.endswith(END_OF_PROMPT) else instruct_text + tts_text
        yield from self._speak(spoken, "instruct2", speed)

    def _speak(self, text: str, method: str, speed: float):
        text = text.rpartition(END_OF_PROMPT)[2]  # what precedes the marker is an instruction
        for sentence in filter(None, (s.strip() for s in re.split(r"(?<=[。！？.!?])", text))):
            samples = round(len(sentence) * SECONDS_PER_CHAR * self.sample_rate / speed)
            yield {"tts_speech": np.full((1, samples), AMPLITUDE[method], dtype=np.float32)}


class CosyVoice3(CosyVoice2):
    """CosyVoice3's LM asserts the ``<|endofprompt|>`` marker in the text it reads: prompt and instruct text, and on
    the SFT path (no prompt text) the tts text."""

    def inference_sft(self, tts_text, spk_id, stream=False, speed=1.0, text_frontend=True):
        assert END_OF_PROMPT in tts_text, "<|endofprompt|> not detected in CosyVoice3 text or prompt_text"
        yield from super().inference_sft(tts_text, spk_id, stream, speed, text_frontend)

    def inference_instruct2(self, tts_text, instruct_text, prompt_wav, zero_shot_spk_id="", stream=False, speed=1.0,
                            text_frontend=True):
        assert END_OF_PROMPT in instruct_text
        yield from super().inference_instruct2(tts_text, instruct_text, prompt_wav, zero_shot_spk_id, stream, speed)

    def add_zero_shot_spk(self, prompt_text, prompt_wav, zero_shot_spk_id):
        assert "<|endofprompt|>" in prompt_text
        return super().add_zero_shot_spk(prompt_text, prompt_wav, zero_shot_spk_id)


def AutoModel(**kwargs):
    """Pick the class by the yaml in the model folder, as CosyVoice's AutoModel does."""
    model_dir = Path(kwargs["model_dir"])
    cls = CosyVoice3 if (model_dir / "cosyvoice3.yaml").is_file() else CosyVoice2
    return cls(**kwargs)
