"""Entry point of the frozen app (PyInstaller): the same `studio` command as the installed one."""

import multiprocessing

from studio.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # torch and its libraries may start helper processes
    raise SystemExit(main())
