"""`make seed` / `make seed-import`: fill the embedded EHR, starting it for the job if needed.

python -m scripts.seed_ehr --rebuild       # wipe var/ehr, seed the synthetic clinic anew
python -m scripts.seed_ehr --import DIR    # add Synthea transaction bundles, dates shifted
"""

from __future__ import annotations

import shutil
import sys

from scripts.run import config_from_env
from scripts.stack import VENV, Supervisor, process_specs, url_answers


def main(argv: list[str]) -> int:
    config = config_from_env()
    supervisor = Supervisor(config)
    ehr = process_specs(config)[0]
    running = url_answers(ehr.health_url)
    seed_args = argv
    if argv[:1] == ["--rebuild"]:
        if running:
            print("the EHR is running: stop `make run` first, then `make seed` again")
            return 1
        # Seeding over a used EHR would reset slots under appointments booked since: wipe it.
        shutil.rmtree(config.var_dir / "ehr", ignore_errors=True)
        ehr = process_specs(config)[0]  # rewrites the EHR's settings file into the fresh folder
        seed_args = argv[1:]
    if not running:
        supervisor.start(ehr)
    try:
        supervisor.wait_healthy([ehr], timeout_s=120)
        command = [
            str(VENV / "python"),
            "-m",
            "backend.ehr.seed",
            "--base-url",
            config.ehr_base_url,
            *seed_args,
        ]
        return supervisor.run_step("seed", command)
    finally:
        supervisor.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
