// Prints the course's networks as snc sees them: every shape was checked when this file compiled.
#include <iostream>

#include <snc/nets/d2l.hpp>
#include <snc/nets/torchvision.hpp>

int main() {
    using namespace snc;
    std::cout << "== The course's ResNet-18: ResNet18().layer_summary((1, 96, 96, 1))\n";
    layer_summary<nets::d2l::ResNet18<>>(std::cout);
    std::cout << "\n";
    summary<nets::d2l::ResNet18<>>(std::cout);
    std::cout << "\n== BNLeNet on Fashion-MNIST batches of 128\n";
    summary<nets::d2l::BNLeNet<>>(std::cout);
    std::cout << "\n== LeNet, the same without batch normalization\n";
    summary<nets::d2l::LeNet<>>(std::cout);
    std::cout << "\n== d2l's Residual block: Residual(6, use_1x1conv=True, strides=2) on (4, 6, 6, 3)\n";
    summary<Network<Input<4, 6, 6, 3>, nets::d2l::Residual<6, true, 2>>>(std::cout, Summary::every_layer);
    std::cout << "\n== torchvision's ResNet-18 and ResNet-152 on ImageNet\n";
    summary<nets::torchvision::ResNet18<>>(std::cout);
    std::cout << "\n";
    summary<nets::torchvision::ResNet152<>>(std::cout);
    std::cout << "\n== The book's modern CNNs on Fashion-MNIST: NiN (224x224), GoogLeNet and DenseNet (96x96)\n";
    summary<nets::d2l::NiN<1>>(std::cout);
    std::cout << "\n";
    summary<nets::d2l::GoogLeNet<1>>(std::cout);
    std::cout << "\n";
    summary<nets::d2l::DenseNet<1>>(std::cout);
    std::cout << "\n== torchvision's DenseNet-121 on ImageNet\n";
    summary<nets::torchvision::DenseNet121<>>(std::cout);
    return 0;
}
