// Writes freshly initialized weights of SNC_NETWORK as safetensors, with PyTorch's names and
// PyTorch's default initialization: the examples embed these where no trained weights are at hand.
//   usage: init_weights <seed> <out.safetensors>
#include <iostream>
#include <string>

#include <snc/io/safetensors.hpp>
#include <snc/weights.hpp>

#include SNC_NETWORK_HEADER

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " <seed> <out.safetensors>\n";
        return 2;
    }
    try {
        snc::Graph graph = snc::build_graph<SNC_NETWORK>();
        snc::io::write_safetensors(argv[2], snc::initial_state_dict(graph, std::stoull(argv[1])));
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}
