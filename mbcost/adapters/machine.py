"""Which machine a measurement ran on (standard library only)."""

from __future__ import annotations

import platform


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else the platform's."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cache_bytes(level: int) -> int | None:
    """The size in bytes of one core's data (or unified) cache at ``level`` (Linux sysfs), else None."""
    import glob

    for folder in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        try:
            with open(f"{folder}/level", encoding="ascii") as fh:
                if int(fh.read().strip()) != level:
                    continue
            with open(f"{folder}/type", encoding="ascii") as fh:
                if fh.read().strip() not in ("Data", "Unified"):
                    continue
            with open(f"{folder}/size", encoding="ascii") as fh:
                text = fh.read().strip().upper()
        except (OSError, ValueError):
            continue
        units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
        try:
            return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
        except (ValueError, IndexError):
            continue
    return None


#: the L2 size assumed where the machine does not say (a common one for a core)
DEFAULT_L2 = 1 << 20


def l2_cache_bytes() -> int:
    """One core's L2 cache in bytes (:data:`DEFAULT_L2` where the machine does not say)."""
    return cache_bytes(2) or DEFAULT_L2
