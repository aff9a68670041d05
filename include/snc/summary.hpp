// summary<Net>(os): the layer table, like the course's layer_summary and Keras' model.summary().
//
//   #   layer                               output shape          parameters        MACs
//       Input                               (1, 96, 96, 1)
//   0   nets::d2l::Stem                     (1, 24, 24, 64)            3,520  ...
//
// By default one row per top-level element; Summary::every_layer adds a row per leaf layer, named
// as its PyTorch module ("1.0.conv1").
#pragma once

#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>
#include <boost/hana/for_each.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/range.hpp>

#include <snc/graph.hpp>

namespace snc {

enum class Summary { top_level, every_layer };

namespace detail {

inline std::string thousands(std::int64_t value) {
    std::string digits = std::to_string(value < 0 ? -value : value);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return value < 0 ? "-" + out : out;
}

inline std::string shape_text(Shape shape) {
    fixed_string<96> text;
    text << shape;
    return std::string(text.view());
}

inline std::string fit(std::string text, std::size_t width) {
    if (text.size() > width) text = text.substr(0, width - 3) + "...";
    return text;
}

inline void summary_row(std::ostream& os, const std::string& index, const std::string& layer, const std::string& shape,
                        const std::string& parameters, const std::string& macs) {
    char line[256];
    std::snprintf(line, sizeof line, "%-4s %-62s %-19s %12s %16s\n", index.c_str(), fit(layer, 80).c_str(),
                  shape.c_str(), parameters.c_str(), macs.c_str());
    os << line;
}

template <class Net>
void summary_elements(std::ostream& os, Summary depth, const Graph& graph) {
    boost::hana::for_each(boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<Net::size>), [&](auto index) {
        constexpr std::size_t I = decltype(index)::value;
        using Element = typename Net::template element<I>;
        summary_row(os, std::to_string(I), std::string(display_name<Element>().view()), shape_text(Net::facts.element_shapes[I]),
                    thousands(Net::facts.element_parameters[I]), thousands(Net::facts.element_macs[I]));
        if (depth != Summary::every_layer || is_leaf_element<Element>()) return;
        for (const Op& op : graph.ops) {
            if (op.element != std::int64_t(I)) continue;
            summary_row(os, "", "  " + op.name + " " + op.type, shape_text(op.out), thousands(op.tensors.trainable_elements()), "");
        }
    });
}

// The table's title: the network's name when it has one (nets::d2l::BNLeNet<>); an unnamed
// Network<Input<...>, layers...> is shown by its input and its number of elements, not cut off
// mid-type.
template <class Net>
std::string title() {
    const std::string_view name = type_name<Net>.view();
    if (name.rfind("Network<", 0) != 0) return std::string(name);
    std::ostringstream os;
    os << "Network<Input<" << shape_text(Net::input_shape).substr(1) << ">, " << Net::size << (Net::size == 1 ? " element>" : " elements>");
    std::string text = os.str();
    text.replace(text.find(")>"), 2, ">");
    return text;
}

}  // namespace detail

template <NetworkType Net>
void summary(std::ostream& os, Summary depth = Summary::top_level) {
    using namespace detail;
    Graph graph;
    if (depth == Summary::every_layer) graph = build_graph<Net>();
    os << title<Net>() << "\n";
    summary_row(os, "#", "layer", "output shape", "parameters", "MACs");
    summary_row(os, "", "Input", shape_text(Net::input_shape), "", "");
    summary_elements<Net>(os, depth, graph);
    summary_row(os, "", "total", shape_text(Net::output_shape), thousands(parameter_count<Net>),
                thousands(mac_count<Net>));
    os << "parameters: " << thousands(parameter_count<Net>) << " (" << thousands(parameter_count<Net> * 4 / 1024)
       << " KiB as float32); activations: " << thousands(activation_bytes<Net> / 1024) << " KiB; "
       << "MACs per forward pass: " << thousands(mac_count<Net>) << "\n";
}

// The course's layer_summary: one line per top-level element, "Stem output shape: (1, 24, 24, 64)".
template <NetworkType Net>
void layer_summary(std::ostream& os) {
    boost::hana::for_each(boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<Net::size>), [&](auto index) {
        constexpr std::size_t I = decltype(index)::value;
        os << display_name<typename Net::template element<I>>().view() << " output shape: "
           << Net::facts.element_shapes[I] << "\n";
    });
}

}  // namespace snc
