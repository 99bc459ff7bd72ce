import time

time.sleep(3600)  # a module that never finishes importing
