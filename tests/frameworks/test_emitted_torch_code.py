"""chain's nn.Sequential, run by torch: the channel names it writes (a pool, upsample or pad keeps its input's
name, PixelShuffle divides it, PixelUnshuffle multiplies it) make a network torch runs, to chain's output size."""

import re

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

SPECS = [
    "conv k3 p1 | maxpool k2 | conv k3 | avgpool k2 | convT k2 s2",
    "conv k3 p1 | upsample x2 | pad p1 | conv k3 | lppool k2 | adaptiveavgpool out=4 | conv k1",
    "conv k3 p1 | pixelshuffle x2 | conv k3 p1 | pixelunshuffle x2 | conv k1",
    "conv k3 | separable k3 | depthwise k3 | maxpool k2 | convT k4 s2 p1",
    "conv k3 in=3 | maxpool k2 | conv k3 c8 | pixelshuffle x2 | conv k3 | pixelunshuffle x2 | conv k1 c5",
]


@pytest.mark.parametrize("spec", SPECS)
def test_the_emitted_sequential_runs_in_torch(run, run_json, spec):
    code, out, err = run("chain", "32x32", spec, "--emit")
    assert code == 0, err
    _, data, _ = run_json("chain", "32x32", spec)
    # a different count per name (a wrong name is a mismatch torch refuses), each divisible by a shuffle's 4 and
    # a multiple of the one before (a depthwise conv's out_channels)
    names = {name: 4 * 2 ** int(name[1:]) for name in re.findall(r"\bC\d+\b", out) + ["C0"]}
    channels_in = 3 if "in=3" in spec else names["C0"]
    model = eval(out, {}, {"nn": nn, **names})  # noqa: S307 -- our own output
    y = model(torch.zeros(1, channels_in, 32, 32))
    last = data["steps"][-1]
    assert tuple(y.shape[2:]) == tuple(data["output"])
    written = re.findall(r"\bC\d+\b", out)
    assert y.shape[1] == (last["channels"] if last["channels"] is not None else names[written[-1]])
