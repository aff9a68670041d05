// The compile-time benchmark's subject: declare torchvision ResNet-152 and print its summary.
#include <iostream>

#include <snc/nets/torchvision.hpp>

int main() {
    snc::summary<snc::nets::torchvision::ResNet152<>>(std::cout);
    return 0;
}
