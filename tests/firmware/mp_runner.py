# Runs firmware test modules under MicroPython: every callable named test_* in each module
# named on the command line. Prints "OK <module> <count>" per module; the first failing test
# prints its name and re-raises, so the interpreter exits non-zero with the traceback.
import sys


def run(name):
    module = __import__(name)
    count = 0
    for attr in sorted(dir(module)):
        test = getattr(module, attr)
        if attr.startswith("test_") and callable(test):
            try:
                test()
            except BaseException:
                print("FAIL %s.%s" % (name, attr))
                raise
            count += 1
    if not count:
        raise AssertionError("no tests in " + name)
    print("OK %s %d" % (name, count))


for module_name in sys.argv[1:]:
    run(module_name)
