"""The canonical formulas: traced ints and sympy agree with plain int arithmetic."""

import sympy
from hypothesis import given
from hypothesis import strategies as st

from tconvcalc.arithmetic import (Traced, ceil_div, conv_out, conv_preimage, conv_transpose_out,
                                  floor_div, same_total_pad, split_pad, trunc_div)

small = st.integers(-50, 200)
positive = st.integers(1, 12)


@given(small, small, positive)
def test_traced_matches_int_arithmetic(a, b, c):
    ta, tb, tc = Traced(a), Traced(b), Traced(c)
    assert (ta - tb) * tc + 1 == (a - b) * c + 1
    assert floor_div(ta - tb, tc) == (a - b) // c
    assert ceil_div(ta, tc) == -(-a // c)
    assert trunc_div(ta, tc) == int((a) / c)


def test_traced_text_parenthesises_only_where_needed():
    n, s, k = Traced(126), Traced(2), Traced(4)
    out = conv_transpose_out(n, k, s, Traced(1), Traced(0), Traced(0), Traced(0))
    assert (out, out.text) == (254, "(126-1)×2-0-0+1×(4-1)+0+1")
    assert (Traced(5) - (Traced(2) + 1)).text == "5-(2+1)"
    assert (Traced(-1) * 3).text == "(-1)×3"


@given(st.integers(1, 300), positive, positive, st.integers(1, 4), st.integers(0, 6), st.integers(0, 6))
def test_conv_preimage_is_exactly_the_inputs_that_map_to_out(out, k, s, d, before, after):
    preimage = conv_preimage(out, k, s, d, before, after)
    lo = max(1, preimage.start - 3 * s)
    for n in range(lo, preimage.stop + 3 * s):
        assert (conv_out(n, k, s, d, before, after) == out) == (n in preimage)


@given(st.integers(1, 500), positive, positive, st.integers(1, 4))
def test_same_padding_keeps_ceil_n_over_s(n, k, s, d):
    before, after = split_pad(same_total_pad(n, k, s, d))
    assert after - before in (0, 1)
    assert conv_out(n, k, s, d, before, after) == -(-n // s)


@given(st.integers(1, 400), positive, positive, st.integers(1, 3), st.integers(0, 4))
def test_symbolic_formulas_agree_with_numbers(n, k, s, d, p):
    h = sympy.Symbol("H", integer=True, positive=True)
    for formula in (lambda x: conv_out(x, k, s, d, p, p), lambda x: conv_transpose_out(x, k, s, d, p, p, 0),
                    lambda x: same_total_pad(x, k, s, d)):
        assert formula(h).subs(h, n) == formula(n)
