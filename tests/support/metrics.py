"""Reading Prometheus multiprocess files (PROMETHEUS_MULTIPROC_DIR) per gunicorn worker."""

from __future__ import annotations

from pathlib import Path


def counter_per_process(directory: Path, sample_name: str, **labels: str) -> dict[int, float]:
    """The counter's value in each process's own file (``counter_<pid>.db``), summed over
    the samples that carry ``labels``."""
    from prometheus_client.multiprocess import MultiProcessCollector

    values: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    values[pid] = values.get(pid, 0.0) + sample.value
    return values
