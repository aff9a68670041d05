#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include <snc/nets/d2l.hpp>
#include <snc/nets/torchvision.hpp>

namespace {
template <class Net>
std::string summary_of(snc::Summary depth = snc::Summary::top_level) {
    std::ostringstream os;
    snc::summary<Net>(os, depth);
    return os.str();
}

bool has_line(const std::string& text, const std::string& start, const std::string& rest) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(start, 0) == 0 && line.find(rest) != std::string::npos) return true;
    return false;
}
}  // namespace

TEST_CASE("BNLeNet's summary lists every layer with shape, parameters and MACs") {
    std::string text = summary_of<snc::nets::d2l::BNLeNet<>>();
    CHECK(text.rfind("nets::d2l::BNLeNet<>\n", 0) == 0);
    CHECK(has_line(text, "0 ", "Conv<6, 5>"));
    CHECK(has_line(text, "0 ", "(128, 24, 24, 6)"));
    CHECK(has_line(text, "0 ", " 156 "));
    CHECK(has_line(text, "0 ", "11,059,200"));  // 128 * 24 * 24 * 6 outputs * 25 products
    CHECK(has_line(text, "8 ", "Flatten"));
    CHECK(has_line(text, "8 ", "(128, 256)"));
    CHECK(has_line(text, "9 ", "30,840"));
    CHECK(has_line(text, "15 ", "(128, 10)"));
    CHECK(has_line(text, "     total", "44,878"));
}

TEST_CASE("the course's ResNet-18 summary matches its layer_summary((1, 96, 96, 1))") {
    std::string text = summary_of<snc::nets::d2l::ResNet18<>>();
    CHECK(has_line(text, "0 ", "nets::d2l::Stem"));
    CHECK(has_line(text, "0 ", "(1, 24, 24, 64)"));
    CHECK(has_line(text, "1 ", "(1, 24, 24, 64)"));
    CHECK(has_line(text, "2 ", "(1, 12, 12, 128)"));
    CHECK(has_line(text, "3 ", "(1, 6, 6, 256)"));
    CHECK(has_line(text, "4 ", "(1, 3, 3, 512)"));
    CHECK(has_line(text, "5 ", "(1, 10)"));

    std::ostringstream course;
    snc::layer_summary<snc::nets::d2l::ResNet18<>>(course);
    CHECK(course.str() ==
          "nets::d2l::Stem output shape: (1, 24, 24, 64)\n"
          "nets::d2l::Block<2, 64, true> output shape: (1, 24, 24, 64)\n"
          "nets::d2l::Block<2, 128> output shape: (1, 12, 12, 128)\n"
          "nets::d2l::Block<2, 256> output shape: (1, 6, 6, 256)\n"
          "nets::d2l::Block<2, 512> output shape: (1, 3, 3, 512)\n"
          "nets::d2l::Head<10> output shape: (1, 10)\n");
}

TEST_CASE("the detailed summary names every layer as its PyTorch module") {
    std::string text = summary_of<snc::nets::d2l::ResNet18<>>(snc::Summary::every_layer);
    CHECK(text.find("1.0.conv1 Conv<64, 3, Same, Stride<1>>") != std::string::npos);
    CHECK(text.find("2.0.conv3 Conv<128, 1, Stride<2>>") != std::string::npos);
    CHECK(text.find("5.1 Dense<10>") != std::string::npos);
}

TEST_CASE("torchvision ResNet-152's summary shows its named stages") {
    std::string text = summary_of<snc::nets::torchvision::ResNet152<>>();
    CHECK(has_line(text, "0 ", "conv1: Conv<64, 7, Stride<2>, Pad<3>, NoBias>"));
    CHECK(has_line(text, "6 ", "layer3: nets::torchvision::Stage<Bottleneck, 256, 36, 2, 512>"));
    CHECK(has_line(text, "6 ", "(1, 14, 14, 1024)"));
    CHECK(has_line(text, "     total", "60,192,808"));
}
