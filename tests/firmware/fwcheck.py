# Assertion helpers for firmware tests that run on CPython (pytest) and on MicroPython
# (mp_runner.py), where pytest.raises and pytest.approx do not exist.


def raises(exc_type, fn, *args):
    # Call fn(*args); return the exception it raised, fail if it raised nothing.
    try:
        fn(*args)
    except exc_type as e:
        return e
    raise AssertionError("%r did not raise %s" % (fn, exc_type.__name__))


def near(actual, expected, tol):
    assert actual is not None and abs(actual - expected) <= tol, "%r is not %r +- %r" % (
        actual,
        expected,
        tol,
    )
