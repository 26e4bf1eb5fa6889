// Gives every test binary its `main()`: CAF's unit test runner.
#include "caf/test/unit_test_impl.hpp"
