"""tconvcalc's own modules (next to the recorder) are not on the import path of the user's code."""
import recorder
