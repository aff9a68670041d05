#!/usr/bin/python3
"""Writes a PyTorch state_dict as a safetensors file, with numpy alone (Debian 12 has no Python
safetensors package): the format safetensors.torch.save_file writes, which snc reads (--weights,
--init, snc_add_model's WEIGHTS).

As a module:
    import sys; sys.path.insert(0, "path/to/snc/tools")
    from save_safetensors import save_safetensors
    save_safetensors("model.safetensors", model.state_dict())     # torch tensors or numpy arrays

As a program, from a state_dict saved with torch.save:
    /usr/bin/python3 tools/save_safetensors.py model.pt model.safetensors

The format: an 8-byte little-endian header length, a JSON header mapping each tensor's name to its
dtype, shape and data offsets (names sorted, the header padded with spaces to 8 bytes), the data.
"""
import json
import os
import struct
import sys

import numpy as np

DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.float16): "F16",
          np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8"}


def to_numpy(tensor):
    if hasattr(tensor, "detach"):  # a torch tensor
        return tensor.detach().cpu().contiguous().numpy()
    return np.asarray(tensor, order="C")  # (ascontiguousarray would make a 0-d counter 1-d)


def save_safetensors(path, state_dict):
    header, blobs, offset = {}, [], 0
    for name in sorted(state_dict):
        array = to_numpy(state_dict[name])
        if array.dtype not in DTYPES:
            raise ValueError(f"{name}: dtype {array.dtype} has no safetensors name here")
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    import torch
    state = torch.load(sys.argv[1], map_location="cpu")
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    save_safetensors(sys.argv[2], state)


if __name__ == "__main__":
    main()
