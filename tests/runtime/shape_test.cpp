#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include <snc/snc.hpp>

namespace {
template <class T>
std::string printed(const T& value) {
    std::ostringstream os;
    os << value;
    return os.str();
}
}  // namespace

TEST_CASE("a shape prints in the course's (N, H, W, C) notation") {
    CHECK(printed(snc::Shape{4, 6, 6, 3}) == "(4, 6, 6, 3)");
    CHECK(printed(snc::Shape{1, 10}) == "(1, 10)");
    CHECK(printed(snc::Shape{128, 24, 24, 6}) == "(128, 24, 24, 6)");
}

TEST_CASE("shapes compare by rank and every extent") {
    CHECK(snc::Shape{1, 10} == snc::Shape{1, 10});
    CHECK(snc::Shape{1, 10} != snc::Shape{10, 1});
    CHECK(snc::Shape{1, 2, 3, 4} != snc::Shape{1, 2, 3, 5});
    CHECK(snc::Shape{1, 6} != snc::Shape{1, 6, 0, 0});
}

