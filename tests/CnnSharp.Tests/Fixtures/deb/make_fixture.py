"""Generates fashion-mini.data.tar.xz: the data.tar.xz of a miniature dataset-fashion-mnist package.

The layout mirrors the real package (entries under ./usr/share/datasets/fashion-mnist/, gzipped IDX files, other
files beside them). Contents match DataTestFiles.Labels(5, 0, 4, 1, 9) and DataTestFiles.Images(5, 4, 4) in the
tests. Run: python3 make_fixture.py (needs the xz command). Committed output; the tests never run this script.
"""
import gzip, io, struct, subprocess, tarfile

def idx(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">i", d) for d in dims) + bytes(payload)

labels = idx([5], [5, 0, 4, 1, 9])
images = idx([5, 4, 4], [i % 256 for i in range(5 * 4 * 4)])

buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
    def add(name, data=None):
        info = tarfile.TarInfo(name)
        info.mtime = 1591347900
        if data is None:
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        else:
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    for d in ["./", "./usr/", "./usr/share/", "./usr/share/datasets/", "./usr/share/datasets/fashion-mnist/"]:
        add(d)
    d = "./usr/share/datasets/fashion-mnist/"
    add(d + "tiny-labels-idx1-ubyte.gz", gzip.compress(labels, mtime=0))
    add("./usr/share/doc/README.gz", gzip.compress(b"not data\n", mtime=0))
    add(d + "tiny-images-idx3-ubyte.gz", gzip.compress(images, mtime=0))
raw = buf.getvalue()
xz = subprocess.run(["xz", "-c", "--check=crc64", "-6"], input=raw, capture_output=True, check=True).stdout
open("fashion-mini.data.tar.xz", "wb").write(xz)
print(len(raw), len(xz))
