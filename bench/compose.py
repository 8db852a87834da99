"""Composition benchmark: our FFmpeg composition vs the encode floor vs MoviePy 2.x (MoneyPrinterTurbo's way).

It builds its own inputs (5 s 1024×576@24 H.264 clips with motion and 16 kHz mono AAC sound,
espeak-ng narration WAVs, a music track), then for 8 and 32 shots measures, each run in its own
process tree: wall time, CPU time (user + system, the process and all its children) and peak RSS
(the sum over the whole process tree, sampled every 50 ms; also PSS, which counts shared library
pages once), and prints a Markdown report.

    (a) ours     app.services.compose.compose_story: 1280×720@25, x264 veryfast CRF 23, AAC 160k,
                 burned subtitles, music ducked, loudness-normalized, cuts
    (b) floor    FFmpeg decoding our output and encoding it again with the same settings, no filters:
                 the least any composer must spend on those frames
    (c) moviepy  the same film with MoviePy 2.x as MoneyPrinterTurbo composes it: VideoFileClip →
                 resized → concatenate_videoclips, narration AudioFileClips and looped music at 0.2 in
                 a CompositeAudioClip, one TextClip per subtitle in a CompositeVideoClip, write_videofile
                 with the same codec settings (and the same system FFmpeg)

Usage (MoviePy needs its own venv, see requirements-bench.txt and docs/benchmarks.md):

    bench/.venv/bin/python bench/compose.py                       # 8 and 32 shots, MoviePy at both
    bench/.venv/bin/python bench/compose.py --moviepy-shots 8     # MoviePy at 8 shots only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SHOT_S = 5.0
WIDTH, HEIGHT, FPS, CRF, PRESET = 1280, 720, 25, 23, "veryfast"
MAX_SPEECH_S = 4.4
FONT = "Noto Sans CJK SC"
SENTENCES = [
    ("en-us", "The lighthouse keeper climbs the stairs at dawn."),
    ("cmn", "海边的灯塔在清晨醒来。"),
    ("en-us", "A small bottle rolls onto the wet sand."),
    ("cmn", "他弯下腰，捡起了那个瓶子。"),
    ("en-us", "Inside, a letter waits, folded twice."),
    ("cmn", "信上的字迹已经有些模糊。"),
    ("en-us", "He reads it slowly, word by word."),
    ("cmn", "原来这是一封很多年前的信。"),
]


# --- inputs -------------------------------------------------------------------------------------


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def build_inputs(work: Path, count: int) -> None:
    """Clips, narrations and music under `work` (kept between runs)."""
    work.mkdir(parents=True, exist_ok=True)
    still = work / "still.png"
    if not still.exists():
        ffmpeg("-f", "lavfi", "-i", "mandelbrot=s=2048x1152:end_pts=1:maxiter=400", "-frames:v", "1", str(still))
    for i in range(count):
        clip = work / f"clip_{i:02d}.mp4"
        if not clip.exists():
            make_clip(still, clip, i)
        wav = work / f"narration_{i:02d}.wav"
        if not wav.exists():
            make_narration(wav, i)
    music = work / "music.mp3"
    if not music.exists():
        chords = "+".join(f"0.08*sin(2*PI*{f}*t)*(0.6+0.4*sin(2*PI*0.5*t))" for f in (220, 277.2, 329.6, 110))
        ffmpeg("-f", "lavfi", "-i", f"aevalsrc={chords}:s=44100:d=60", "-ac", "2", "-c:a", "libmp3lame",
               "-b:a", "192k", str(music))  # fmt: skip


def make_clip(still: Path, out: Path, index: int) -> None:
    """A 5 s 1024×576@24 H.264 pan over a detailed still, hue drifting, with 16 kHz mono AAC ambience."""
    vx, vy = (40 + 13 * (index % 5)) * (-1) ** index, (15 + 7 * (index % 3)) * (-1) ** (index // 2)
    x0, y0 = 512 + 20 * (index % 7), 288 + 15 * (index % 5)
    video = (f"[0:v]crop=1024:576:x='{x0}+t*{vx}':y='{y0}+t*{vy}',hue=h='{index * 37}+t*12':s=1.2,"
             "format=yuv420p[v]")  # fmt: skip
    ffmpeg("-loop", "1", "-framerate", "24", "-t", str(SHOT_S), "-i", str(still),
           "-f", "lavfi", "-t", str(SHOT_S), "-i", "anoisesrc=c=brown:r=16000:a=0.05,lowpass=f=800",
           "-filter_complex", video, "-map", "[v]", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "20", "-r", "24", "-c:a", "aac", "-ac", "1", "-ar", "16000", "-b:a", "48k", str(out))  # fmt: skip


def make_narration(out: Path, index: int) -> None:
    voice, text = SENTENCES[index % len(SENTENCES)]
    for rate in (150, 175, 200, 230):
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(out), text], check=True)
        if wav_seconds(out) <= MAX_SPEECH_S:
            return


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def shots(work: Path, count: int) -> list[tuple[Path, Path, str]]:
    return [(work / f"clip_{i:02d}.mp4", work / f"narration_{i:02d}.wav", SENTENCES[i % len(SENTENCES)][1])
            for i in range(count)]  # fmt: skip


# --- the three compositions (each run in its own process by `--run`) -----------------------------


def run_ours(work: Path, count: int, out: Path) -> None:
    from loguru import logger

    from app.services.compose import ComposeOptions, ShotMedia, compose_story

    logger.remove()
    logger.add(sys.stderr, level="WARNING")

    media = [ShotMedia(shot_id=f"s{i}", clip_path=clip, audio_path=wav, duration=SHOT_S, narration=text)
             for i, (clip, wav, text) in enumerate(shots(work, count))]  # fmt: skip
    options = ComposeOptions(width=WIDTH, height=HEIGHT, fps=FPS, crf=CRF, preset=PRESET, font=FONT,
                             music_path=work / "music.mp3", timeout_s=3600)  # fmt: skip
    result = asyncio.run(compose_story(shots=media, out_dir=out.parent, options=options))
    result.video_path.rename(out)


def floor_command(source: Path, out: Path) -> list[str]:
    """Decode `source` and encode it again with our output settings: no filters at all."""
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(source),
            "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-pix_fmt", "yuv420p", "-r", str(FPS),
            "-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-ac", "2", "-movflags", "+faststart", str(out)]  # fmt: skip


def run_moviepy(work: Path, count: int, out: Path) -> None:
    """MoneyPrinterTurbo's composition, with MoviePy 2.x, on the same inputs and output settings."""
    from moviepy import (
        AudioFileClip,
        CompositeAudioClip,
        CompositeVideoClip,
        TextClip,
        VideoFileClip,
        afx,
        concatenate_videoclips,
    )

    from app.services.compose.fonts import font_file
    from app.services.compose.models import ShotMedia
    from app.services.compose.timeline import build_cues, shot_spans

    items = shots(work, count)
    clips = [VideoFileClip(str(clip), audio=False).subclipped(0, SHOT_S).resized((WIDTH, HEIGHT))
             for clip, _, _ in items]  # fmt: skip
    video = concatenate_videoclips(clips)
    voices = [AudioFileClip(str(wav)).with_start(i * SHOT_S) for i, (_, wav, _) in enumerate(items)]
    bgm = AudioFileClip(str(work / "music.mp3")).with_effects(
        [afx.AudioLoop(duration=video.duration), afx.MultiplyVolume(0.2), afx.AudioFadeOut(3)]
    )
    audio = CompositeAudioClip([*voices, bgm]).with_duration(video.duration)
    media = [ShotMedia(shot_id=str(i), clip_path=clip, audio_path=wav, duration=SHOT_S, narration=text)
             for i, (clip, wav, text) in enumerate(items)]  # fmt: skip
    cues = build_cues(media, shot_spans(media, FPS), [wav_seconds(wav) for _, wav, _ in items])
    font = font_file(FONT)[0]
    texts = []
    for cue in cues:
        # an explicit height, as MoneyPrinterTurbo sets it: MoviePy's own cuts off the second line
        text = TextClip(font=font, text="\n".join(cue.lines), font_size=40, color="white",
                        stroke_color="black", stroke_width=2, method="caption", size=(int(WIDTH * 0.9), 130),
                        text_align="center")  # fmt: skip
        texts.append(text.with_start(cue.start).with_end(cue.end).with_position(("center", HEIGHT * 0.95 - text.h)))
    final = CompositeVideoClip([video, *texts]).with_audio(audio)
    final.write_videofile(str(out), fps=FPS, codec="libx264", preset=PRESET, audio_codec="aac",
                          audio_bitrate="160k", audio_fps=48000, threads=os.cpu_count(), logger=None,
                          ffmpeg_params=["-crf", str(CRF), "-pix_fmt", "yuv420p", "-movflags", "+faststart"])


# --- measuring ----------------------------------------------------------------------------------


def measure(command: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run `command`; wall time, CPU time of it and all its descendants, peak RSS of the process tree."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = psutil.Popen(command, env={**os.environ, **(env or {})})
    peak = {"tree": 0, "pss": 0, "single": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, pss = [], []
            try:
                tree = [proc, *proc.children(recursive=True)]
            except psutil.Error:  # the run just ended
                tree = []
            for p in tree:
                try:
                    info = p.memory_full_info()
                except psutil.Error:
                    continue
                rss.append(info.rss)
                pss.append(info.pss)
            peak["tree"] = max(peak["tree"], sum(rss))
            peak["pss"] = max(peak["pss"], sum(pss))
            peak["single"] = max(peak["single"], max(rss, default=0))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        raise SystemExit(f"{' '.join(command[:4])}… failed with {code}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    mb = {key: value / 2**20 for key, value in peak.items()}
    return {"wall_s": wall, "cpu_s": cpu, "rss_tree_mb": mb["tree"], "pss_tree_mb": mb["pss"],
            "rss_max_mb": mb["single"]}


def self_command(kind: str, work: Path, count: int, out: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--run", kind, "--work", str(work), "--count", str(count),
            "--out", str(out)]  # fmt: skip


def bench(work: Path, counts: list[int], moviepy_counts: list[int], repeat: int) -> dict:
    env = {"IMAGEIO_FFMPEG_EXE": shutil.which("ffmpeg") or "ffmpeg"}  # MoviePy uses the same FFmpeg
    results: dict = {"machine": machine(), "runs": {}}
    for count in counts:
        runs: dict[str, list[dict]] = {"ours": [], "floor": []}
        out_dir = work / f"out_{count}"
        out_dir.mkdir(exist_ok=True)
        ours, floor = out_dir / "ours.mp4", out_dir / "floor.mp4"
        for _ in range(repeat):  # interleaved, so a busy moment hits both
            runs["ours"].append(measure(self_command("ours", work, count, ours)))
            runs["floor"].append(measure(floor_command(ours, floor)))
        if count in moviepy_counts:
            runs["moviepy"] = [measure(self_command("moviepy", work, count, out_dir / "moviepy.mp4"), env)]
        results["runs"][count] = {kind: best(samples) for kind, samples in runs.items()}
        results["runs"][count]["film_s"] = count * SHOT_S
        sys.stderr.write(json.dumps({count: results["runs"][count]}) + "\n")
    results["machine"]["load_after"] = os.getloadavg()
    return results


def best(samples: list[dict]) -> dict:
    """The least of each measure over repeated runs (the least disturbed by other work on the machine)."""
    return {key: min(s[key] for s in samples) for key in samples[0]} | {"runs": len(samples)}


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory = next(int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))  # fmt: skip
    ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    try:
        from importlib.metadata import version

        moviepy_version = version("moviepy")
    except Exception:  # noqa: BLE001 - only reported
        moviepy_version = "not installed"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": memory, "os": platform.platform(),
            "python": platform.python_version(), "ffmpeg": ffmpeg_version, "moviepy": moviepy_version,
            "load_before": os.getloadavg()}  # fmt: skip


# --- report -------------------------------------------------------------------------------------


def report(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mb'] // 1024} GiB; {m['os']}; Python {m['python']}; "
        f"{m['ffmpeg']}; MoviePy {m['moviepy']}. Load average before/after: "
        f"{'/'.join(f'{v:.1f}' for v in m['load_before'])} → {'/'.join(f'{v:.1f}' for v in m['load_after'])}.",
        "",
        "| shots | film | run | wall s | CPU s | peak RSS, tree MB | peak PSS, tree MB | largest process MB "
        "| wall vs floor | CPU vs floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for count, runs in results["runs"].items():
        floor = runs["floor"]
        for kind in ("ours", "floor", "moviepy"):
            if kind not in runs:
                continue
            r = runs[kind]
            lines.append(f"| {count} | {runs['film_s']:.0f} s | {kind} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                         f"{r['rss_tree_mb']:.0f} | {r['pss_tree_mb']:.0f} | {r['rss_max_mb']:.0f} | "
                         f"{r['wall_s'] / floor['wall_s']:.2f}× | {r['cpu_s'] / floor['cpu_s']:.2f}× |")  # fmt: skip
    lines += ["", *summary(results["runs"])]
    return "\n".join(lines)


def summary(runs: dict) -> list[str]:
    out = []
    counts = sorted(runs)
    for count in counts:
        r = runs[count]
        line = f"- {count} shots: ours / floor = {r['ours']['wall_s'] / r['floor']['wall_s']:.2f}× wall, " \
               f"{r['ours']['cpu_s'] / r['floor']['cpu_s']:.2f}× CPU"
        if "moviepy" in r:
            line += (f"; MoviePy / ours = {r['moviepy']['wall_s'] / r['ours']['wall_s']:.1f}× wall, "
                     f"{r['moviepy']['cpu_s'] / r['ours']['cpu_s']:.1f}× CPU")
        out.append(line + ".")
    if len(counts) >= 2:
        small, large = runs[counts[0]], runs[counts[-1]]
        scale = large["film_s"] / small["film_s"]
        out.append(f"- {counts[0]} → {counts[-1]} shots ({scale:.0f}× the film): ours takes "
                   f"{large['ours']['wall_s'] / small['ours']['wall_s']:.2f}× the wall time, "
                   f"{large['ours']['cpu_s'] / small['ours']['cpu_s']:.2f}× the CPU time; peak RSS "
                   f"{small['ours']['rss_tree_mb']:.0f} → {large['ours']['rss_tree_mb']:.0f} MB.")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/story2video-bench"), help="inputs and outputs")
    parser.add_argument("--shots", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--moviepy-shots", type=int, nargs="*", default=None, help="default: the same as --shots")
    parser.add_argument("--repeat", type=int, default=1, help="runs of ours and the floor (the least is kept)")
    parser.add_argument("--run", choices=["ours", "moviepy"], help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        (run_ours if args.run == "ours" else run_moviepy)(args.work, args.count, args.out)
        return
    build_inputs(args.work, max(args.shots))
    moviepy = args.shots if args.moviepy_shots is None else args.moviepy_shots
    results = bench(args.work, args.shots, moviepy, args.repeat)
    (args.work / "results.json").write_text(json.dumps(results, indent=2))
    sys.stdout.write(report(results) + "\n")


if __name__ == "__main__":
    main()
