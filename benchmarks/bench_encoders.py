#!/usr/bin/env python3
"""Evidence for the encoder pins: ProRes encoder per profile, DNxHR DCT, scaler rounding, AAC pass.

    python benchmarks/bench_encoders.py [--frames 30] [--quick]

Makes a 1920x1080 29.97 ProRes 422 HQ source with the pinned build's lavfi (testsrc2 with temporal
grain, so data rates are not those of a flat test card), then for each candidate setting reports:
CPU seconds of the encode (children's user+sys, less sensitive than wall time to a shared machine),
data rate in Mb/s at 29.97, PSNR and SSIM (Y) against the source, the FourCC / vendor fields NLEs
read, and whether the bytes are identical across ``-threads`` 1/2/4/8 and with SIMD disabled
(``-cpuflags 0``, this machine's stand-in for another CPU). Indicative only: a shared 2-core
machine, few frames. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxx_engine_ffmpeg.binary import inspect_binary

FF = inspect_binary().path
RATE = "30000/1001"
APPLE_1080_2997_MBPS = {"proxy": 45, "lt": 102}  # Apple ProRes white paper, 1920x1080 at 29.97


def ff(*args: str) -> tuple[float, float, str]:
    """Run ffmpeg; return (wall seconds, child CPU seconds, stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [FF, "-nostdin", "-hide_banner", "-nostats", "-y", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"ffmpeg failed: {' '.join(args)}\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.stderr


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_source(path: Path, frames: int, grain: int) -> Path:
    ff(
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size=1920x1080:rate={RATE}",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-frames:v",
        str(frames),
        "-vf",
        f"noise=alls={grain}:allf=t",
        "-c:v",
        "prores_ks",
        "-profile:v",
        "3",
        "-pix_fmt",
        "yuv422p10le",
        "-c:a",
        "pcm_s24le",
        "-ac",
        "2",
        "-t",
        f"{frames * 1001 / 30000:.4f}",
        "-timecode",
        "01:00:00:00",
        "file:" + str(path),
    )
    return path


def quality(out: Path, src: Path, pix_fmt: str, ref_filter: str = "") -> tuple[float, float]:
    """(PSNR average dB, SSIM Y) of ``out`` against ``src`` brought to ``pix_fmt``."""
    ref = f"[1:v]{ref_filter + ',' if ref_filter else ''}format={pix_fmt}[r]"
    graph = f"{ref};[0:v]format={pix_fmt},split[a][b];[r]split[r1][r2];[a][r1]psnr;[b][r2]ssim"
    _, _, err = ff("-i", "file:" + str(out), "-i", "file:" + str(src), "-lavfi", graph, "-f", "null", "-")
    psnr = float(re.findall(r"PSNR .* average:([\d.]+|inf)", err)[-1])
    ssim = float(re.findall(r"SSIM Y:([\d.]+)", err)[-1])
    return psnr, ssim


def mov_tags(path: Path) -> str:
    """FourCC and vendor of the QuickTime sample description, and the ProRes frame header's creator."""
    data = path.read_bytes()
    f = data.find(b"stsd")
    fourcc = data[f + 16 : f + 20].decode("latin-1")
    vendor = data[f + 32 : f + 36].decode("latin-1")
    i = data.find(b"icpf")
    creator = data[i + 8 : i + 12].decode("latin-1") if i >= 0 else "?"
    return f"{fourcc} vendor={vendor} frame creator={creator}"


def identical(argv_before_out: list[str], out: Path, ext: str) -> tuple[bool, bool]:
    """(same bytes at -threads 1/2/4/8, same bytes with -cpuflags 0)."""
    hashes = set()
    for n in (1, 2, 4, 8):
        p = out.with_suffix(f".t{n}.{ext}")
        ff("-loglevel", "error", *_with_threads(argv_before_out, n), "file:" + str(p))
        hashes.add(sha(p))
        p.unlink()
    p = out.with_suffix(f".nosimd.{ext}")
    ff("-loglevel", "error", "-cpuflags", "0", *argv_before_out, "file:" + str(p))
    same_simd = sha(p) == sha(out)
    p.unlink()
    return len(hashes) == 1 and sha(out) in hashes, same_simd


def _with_threads(argv: list[str], n: int) -> list[str]:
    argv = list(argv)
    i = argv.index("-threads")
    argv[i + 1] = str(n)
    return argv


def row(*cells) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def prores(src: Path, work: Path, frames: int, quick: bool) -> None:
    seconds = frames * 1001 / 30000
    print("\n### ProRes encoders (1920x1080 29.97, 10-bit 4:2:2)\n")
    row(
        "profile",
        "encoder",
        "CPU s",
        "wall s",
        "Mb/s (Apple target)",
        "PSNR dB",
        "SSIM Y",
        "tags",
        "same at 1/2/4/8 threads",
        "same without SIMD",
    )
    row(*["---"] * 10)
    for profile, number in (("proxy", "0"), ("lt", "1")):
        for encoder in ("prores_ks", "prores_aw"):
            out = work / f"{profile}_{encoder}.mov"
            argv = [
                "-i",
                "file:" + str(src),
                "-map",
                "0:v:0",
                "-an",
                "-map_metadata",
                "-1",
                "-vf",
                "scale=1920:1080:flags=bicubic+bitexact,setsar=1,format=yuv422p10le",
                "-c:v",
                encoder,
                "-profile:v",
                number,
                "-vendor",
                "apl0",
                "-threads",
                "2",
                "-flags:v",
                "+bitexact",
                "-fflags",
                "+bitexact",
                "-f",
                "mov",
            ]
            wall, cpu, _ = ff("-loglevel", "error", *argv, "file:" + str(out))
            mbps = out.stat().st_size * 8 / seconds / 1e6
            psnr, ssim = quality(out, src, "yuv422p10le")
            same_t, same_s = ("-", "-") if quick else identical(argv, out, "mov")
            row(
                profile,
                encoder,
                f"{cpu:.2f}",
                f"{wall:.2f}",
                f"{mbps:.1f} ({APPLE_1080_2997_MBPS[profile]})",
                f"{psnr:.2f}",
                f"{ssim:.4f}",
                mov_tags(out),
                same_t,
                same_s,
            )


def dnxhr(src: Path, work: Path, quick: bool) -> None:
    print("\n### DNxHR LB forward DCT (1920x1080 29.97, 8-bit 4:2:2)\n")
    row("-dct", "CPU s", "wall s", "PSNR dB", "SSIM Y", "same at 1/2/4/8 threads", "same without SIMD")
    row(*["---"] * 7)
    for dct in ("auto", "int", "faan", "fastint"):
        out = work / f"dnxhr_{dct}.mxf"
        argv = [
            "-i",
            "file:" + str(src),
            "-map",
            "0:v:0",
            "-an",
            "-map_metadata",
            "-1",
            "-vf",
            "scale=1920:1080:flags=bicubic+bitexact,setsar=1,format=yuv422p",
            "-dct",
            dct,
            "-c:v",
            "dnxhd",
            "-profile:v",
            "dnxhr_lb",
            "-threads",
            "2",
            "-flags:v",
            "+bitexact",
            "-fflags",
            "+bitexact",
            "-f",
            "mxf",
        ]
        wall, cpu, _ = ff("-loglevel", "error", *argv, "file:" + str(out))
        psnr, ssim = quality(out, src, "yuv422p")
        same_t, same_s = ("-", "-") if quick else identical(argv, out, "mxf")
        row(dct, f"{cpu:.2f}", f"{wall:.2f}", f"{psnr:.3f}", f"{ssim:.5f}", same_t, same_s)


def scaler(src: Path, work: Path) -> None:
    print("\n### Scaler rounding, 1920x1080 -> 1280x720 yuv420p (the H.264 720p path), before encoding\n")
    row("flags", "CPU s", "wall s", "PSNR dB vs 16-bit reference", "SSIM Y", "same without SIMD")
    row(*["---"] * 6)
    # the same bicubic kernel and matrix, computed at 16 bits with exact rounding: what each variant
    # loses by rounding to 8 bits is the difference
    reference = "scale=1280:720:flags=bicubic+accurate_rnd+full_chroma_int:out_color_matrix=bt709:out_range=tv"
    for flags in ("bicubic+bitexact+accurate_rnd", "bicubic+bitexact"):
        out = work / f"scale_{flags.count('+')}.nut"
        argv = [
            "-i",
            "file:" + str(src),
            "-map",
            "0:v:0",
            "-an",
            "-vf",
            f"scale=1280:720:flags={flags}:out_color_matrix=bt709:out_range=tv,format=yuv420p",
            "-c:v",
            "rawvideo",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            "-f",
            "nut",
        ]
        wall, cpu, _ = ff("-loglevel", "error", *argv, "file:" + str(out))
        nosimd = out.with_suffix(".nosimd.nut")
        ff("-loglevel", "error", "-cpuflags", "0", *argv, "file:" + str(nosimd))
        psnr, ssim = quality(out, src, "yuv420p16le", reference)
        row(flags, f"{cpu:.2f}", f"{wall:.2f}", f"{psnr:.2f}", f"{ssim:.4f}", sha(out) == sha(nosimd))


def aac(work: Path, seconds: int) -> None:
    print(f"\n### AAC-LC 192 kb/s stereo, {seconds} s of 24-bit 48 kHz PCM\n")
    row("encode", "CPU s", "wall s", "same bytes with and without SIMD")
    row(*["---"] * 4)
    pcm = work / "audio.mov"
    ff(
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"aevalsrc=sin(440*2*PI*t)*0.2+0.02*random(0)|sin(660*2*PI*t)*0.1:s=48000:d={seconds}",
        "-c:a",
        "pcm_s24le",
        "file:" + str(pcm),
    )
    for label, cpuflags in (("native SIMD", []), ("-cpuflags 0 (the production audio pass)", ["-cpuflags", "0"])):
        outs = []
        for variant in ([], ["-cpuflags", "0"]):
            out = work / f"aac{len(outs)}.m4a"
            args = [
                *cpuflags,
                *variant,
                "-i",
                "file:" + str(pcm),
                "-c:a",
                "aac",
                "-b:a",
                "192k",
                "-flags:a",
                "+bitexact",
                "-fflags",
                "+bitexact",
                "-f",
                "mp4",
                "file:" + str(out),
            ]
            if not outs:
                wall, cpu, _ = ff("-loglevel", "error", *args)
            else:
                ff("-loglevel", "error", *args)
            outs.append(sha(out))
        row(label, f"{cpu:.2f}", f"{wall:.2f}", outs[0] == outs[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--grain", type=int, default=6, help="temporal noise strength added to testsrc2 (0-100)")
    ap.add_argument("--quick", action="store_true", help="skip the thread/SIMD identity columns")
    ap.add_argument("--only", choices=("prores", "dnxhr", "scaler", "aac"), action="append")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="proxx-bench-enc-"))
    try:
        print(f"machine: {os.cpu_count()} CPUs; {inspect_binary().version_line}")
        src = make_source(work / "src.mov", args.frames, args.grain)
        print(f"source: {args.frames} frames of testsrc2 + temporal grain {args.grain}")
        only = set(args.only or ("prores", "dnxhr", "scaler", "aac"))
        if "prores" in only:
            prores(src, work, args.frames, args.quick)
        if "dnxhr" in only:
            dnxhr(src, work, args.quick)
        if "scaler" in only:
            scaler(src, work)
        if "aac" in only:
            aac(work, 60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
