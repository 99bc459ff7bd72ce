HOG = bytearray(10 * 1024 ** 3)  # 10 GB at import
