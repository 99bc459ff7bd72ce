import os
import time

if os.environ.get("TCONVCALC_TEST_PIDFILE"):  # so that the test can see it was stopped
    with open(os.environ["TCONVCALC_TEST_PIDFILE"], "w") as handle:
        handle.write(str(os.getpid()))
time.sleep(3600)  # a module that never finishes importing
