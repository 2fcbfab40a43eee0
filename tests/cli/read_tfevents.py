#!/usr/bin/python3
"""Independent TensorBoard event-file reader: checks every TFRecord CRC-32C and decodes each Event with protobuf
classes built at run time. Usage: read_tfevents.py TB_DIR [--json] | --self-test. In --json a NaN scalar is null,
+-Inf the string "Infinity"/"-Infinity" (strict JSON). Errors: exit 1, naming the file and byte offset."""
import json, math, os, struct, sys, tempfile

import crc32c  # Debian: python3-crc32c
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # Debian: python3-protobuf

FILE_VERSION = "brain.Event:2"
F = descriptor_pb2.FieldDescriptorProto


def build_classes():
    """Event, Summary and SessionLog with the field numbers of TensorFlow's event.proto and summary.proto."""
    fd = descriptor_pb2.FileDescriptorProto(name="read_tfevents.proto", package="read_tfevents", syntax="proto3")

    def add(msg, name, number, type_, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
        f = msg.field.add(name=name, number=number, type=type_, label=label)
        if type_name:
            f.type_name = type_name
        if oneof is not None:
            f.oneof_index = oneof

    summary = fd.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    add(value, "node_name", 7, F.TYPE_STRING)
    add(value, "tag", 1, F.TYPE_STRING)
    add(value, "metadata", 9, F.TYPE_BYTES)  # SummaryMetadata, kept undecoded
    add(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    for name, number in (("obsolete_old_style_histogram", 3), ("image", 4), ("histo", 5), ("audio", 6), ("tensor", 8)):
        add(value, name, number, F.TYPE_BYTES, oneof=0)  # messages in TensorFlow; the same wire type as bytes
    add(summary, "value", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".read_tfevents.Summary.Value")

    log = fd.message_type.add(name="SessionLog")
    status = log.enum_type.add(name="SessionStatus")
    for i, name in enumerate(("STATUS_UNSPECIFIED", "START", "STOP", "CHECKPOINT")):
        status.value.add(name=name, number=i)
    add(log, "status", 1, F.TYPE_ENUM, type_name=".read_tfevents.SessionLog.SessionStatus")
    add(log, "checkpoint_path", 2, F.TYPE_STRING)
    add(log, "msg", 3, F.TYPE_STRING)

    event = fd.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    add(event, "wall_time", 1, F.TYPE_DOUBLE)
    add(event, "step", 2, F.TYPE_INT64)
    add(event, "file_version", 3, F.TYPE_STRING, oneof=0)
    add(event, "graph_def", 4, F.TYPE_BYTES, oneof=0)
    add(event, "summary", 5, F.TYPE_MESSAGE, type_name=".read_tfevents.Summary", oneof=0)
    add(event, "session_log", 7, F.TYPE_MESSAGE, type_name=".read_tfevents.SessionLog", oneof=0)

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)

    def cls(name):
        desc = pool.FindMessageTypeByName("read_tfevents." + name)
        if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
            return message_factory.GetMessageClass(desc)
        return message_factory.MessageFactory(pool).GetPrototype(desc)  # protobuf 3.21 (Debian 12)

    return cls("Event"), cls("Summary"), cls("Summary.Value"), cls("SessionLog")


Event, Summary, Value, SessionLog = build_classes()


def masked_crc(data):
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class ReadError(Exception):
    pass


def read_records(path):
    """Yields (offset, data bytes) of every record; raises ReadError on a bad CRC, truncation or trailing bytes."""
    blob = open(path, "rb").read()
    off = 0
    while off < len(blob):
        if len(blob) - off < 12:
            raise ReadError(f"{path}: offset {off}: truncated record header ({len(blob) - off} trailing bytes)")
        header, (length_crc,) = blob[off:off + 8], struct.unpack_from("<I", blob, off + 8)
        if masked_crc(header) != length_crc:
            raise ReadError(f"{path}: offset {off}: length CRC mismatch (garbage or a corrupt record)")
        (length,) = struct.unpack("<Q", header)
        end = off + 12 + length + 4
        if end > len(blob):
            raise ReadError(f"{path}: offset {off}: truncated record (needs {end - off} bytes, {len(blob) - off} left)")
        data, (data_crc,) = blob[off + 12:end - 4], struct.unpack_from("<I", blob, end - 4)
        if masked_crc(data) != data_crc:
            raise ReadError(f"{path}: offset {off}: data CRC mismatch")
        yield off, data
        off = end


def read_dir(tb_dir):
    files = sorted(f for f in os.listdir(tb_dir) if f.startswith("events.out.tfevents."))
    if not files:
        raise ReadError(f"{tb_dir}: no events.out.tfevents.* files")
    out = {"files": files, "records": 0, "file_version": None, "scalars": {}, "session_logs": []}
    for name in files:
        path, i = os.path.join(tb_dir, name), -1
        for i, (off, data) in enumerate(read_records(path)):
            event = Event()
            try:
                event.ParseFromString(data)
            except Exception as e:
                raise ReadError(f"{path}: offset {off}: not an Event: {e}")
            if not (math.isfinite(event.wall_time) and event.wall_time > 0):
                raise ReadError(f"{path}: offset {off}: wall_time {event.wall_time} is not finite and positive")
            kind = event.WhichOneof("what")
            if i == 0:
                if kind != "file_version" or event.file_version != FILE_VERSION:
                    raise ReadError(f"{path}: offset {off}: first record is not file_version {FILE_VERSION!r}")
                out["file_version"] = event.file_version
            elif kind == "summary":
                for v in event.summary.value:
                    if v.WhichOneof("value") == "simple_value":
                        out["scalars"].setdefault(v.tag, []).append([event.step, v.simple_value, event.wall_time])
            elif kind == "session_log":
                out["session_logs"].append([event.step, SessionLog.SessionStatus.Name(event.session_log.status)])
            out["records"] += 1
        if i < 0:
            raise ReadError(f"{path}: offset 0: empty file, no file_version record")
    return out


def json_number(x):
    return None if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity") if math.isinf(x) else x


def to_json(d):
    scalars = {tag: [[s, json_number(v), w] for s, v, w in pts] for tag, pts in d["scalars"].items()}
    return json.dumps({"files": d["files"], "records": d["records"], "file_version": d["file_version"],
                       "scalars": scalars}, allow_nan=False)


def summary_text(d):
    lines = [f"files: {len(d['files'])} ({', '.join(d['files'])})", f"records: {d['records']}",
             f"file_version: {d['file_version']}"]
    for tag, pts in sorted(d["scalars"].items()):
        lines.append(f"scalar {tag}: {len(pts)} values, steps {pts[0][0]}..{pts[-1][0]}")
    if d["session_logs"]:
        lines.append(f"session logs: {d['session_logs']}")
    return "\n".join(lines)


def self_test():
    """An independent writer (struct + crc32c + the same classes) -> the reader; corrupted copies must fail."""
    assert crc32c.crc32c(b"123456789") == 0xE3069283, "crc32c known vector"

    def record(event):
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        return header + struct.pack("<I", masked_crc(header)) + data + struct.pack("<I", masked_crc(data))

    def scalar(step, tag, value):
        return Event(wall_time=1.7e9 + step, step=step, summary=Summary(value=[Value(tag=tag, simple_value=value)]))

    tmp = tempfile.mkdtemp()
    first = [Event(wall_time=1.7e9, file_version=FILE_VERSION), scalar(1, "loss", 2.5), scalar(2, "loss", float("nan")),
             Event(wall_time=1.7e9 + 3, step=3, session_log=SessionLog(status=SessionLog.STOP, msg="stopped"))]
    second = [Event(wall_time=1.8e9, file_version=FILE_VERSION), scalar(4, "loss", 0.25), scalar(4, "lr", 0.125)]
    blobs = {"events.out.tfevents.1700000000.host": b"".join(map(record, first)),
             "events.out.tfevents.1800000000.host": b"".join(map(record, second))}
    for name, blob in blobs.items():
        open(os.path.join(tmp, name), "wb").write(blob)
    d = json.loads(to_json(read_dir(tmp)))
    want = {"loss": [[1, 2.5, 1.7e9 + 1], [2, None, 1.7e9 + 2], [4, 0.25, 1.7e9 + 4]], "lr": [[4, 0.125, 1.7e9 + 4]]}
    assert d["scalars"] == want and d["records"] == 7 and d["file_version"] == FILE_VERSION, d
    print("ok: written and read back:", summary_text(read_dir(tmp)).replace("\n", "; "))

    name = "events.out.tfevents.1800000000.host"
    good, data_off = blobs[name], len(record(second[0])) + 12 + 3  # a byte inside the 2nd record's data
    bad = {"data CRC mismatch": good[:data_off] + bytes([good[data_off] ^ 1]) + good[data_off + 1:],
           "length CRC mismatch": good[:len(record(second[0]))] + b"\x05" + good[len(record(second[0])) + 1:],
           "truncated record": good[:-3], "trailing bytes": good + b"\0\0\0",
           "first record is not file_version": b"".join(map(record, second[1:])), "empty file": b""}
    for want_msg, blob in bad.items():
        open(os.path.join(tmp, name), "wb").write(blob)
        try:
            read_dir(tmp)
            raise AssertionError(f"corrupt file not detected (want {want_msg!r})")
        except ReadError as e:
            assert want_msg in str(e) and name in str(e) and "offset " in str(e), e
            print(f"ok: detected: {e}")
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)
    print("self-test passed")


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    args = [a for a in argv if a != "--json"]
    if len(args) != 1:
        sys.exit("usage: read_tfevents.py TB_DIR [--json] | --self-test")
    try:
        d = read_dir(args[0])
    except (ReadError, OSError) as e:
        print(f"read_tfevents: error: {e}", file=sys.stderr)
        sys.exit(1)
    print(to_json(d) if "--json" in argv else summary_text(d))


if __name__ == "__main__":
    main(sys.argv[1:])
