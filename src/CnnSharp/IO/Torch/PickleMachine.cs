using System.Buffers.Binary;
using System.Text;

namespace CnnSharp.IO.Torch;

/// <summary>
/// A restricted pickle virtual machine: it runs only the opcodes a <c>torch.save</c>d state dict uses (protocols 2 to
/// 5) and resolves only the allow-listed globals, so no byte of the file can import a module, call a function or
/// build an object other than dicts, lists, tuples, scalars, storages and tensors.
/// </summary>
/// <remarks>
/// <para>What PyTorch 1.13 writes for <c>torch.save(model.state_dict())</c> (checked with <c>pickletools.dis</c>):
/// PROTO 2, GLOBAL <c>collections OrderedDict</c> + EMPTY_TUPLE + REDUCE for the dict, per tensor GLOBAL
/// <c>torch._utils _rebuild_tensor_v2</c> and a tuple holding a BINPERSID storage reference
/// <c>('storage', torch.FloatStorage, key, location, numel)</c>, the offset, size and stride tuples, NEWFALSE and an
/// empty OrderedDict of hooks, then REDUCE; SETITEMS; finally BUILD with <c>{'_metadata': ...}</c> on the dict and STOP.
/// Memo opcodes (BINPUT, LONG_BINPUT, BINGET, LONG_BINGET) are everywhere; protocol 4 adds FRAME, SHORT_BINUNICODE,
/// MEMOIZE and STACK_GLOBAL.</para>
/// <para>Refused with <see cref="UnsafePickleException"/>: any global outside the allow-list (at GLOBAL or STACK_GLOBAL
/// time, before it could be called), INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT1/2/4, REDUCE on anything but the allowed
/// callables, BUILD on anything but a dict. Every other opcode (protocol-0 text opcodes, bytes, sets, ...) is a
/// <see cref="TorchFormatException"/>. Lengths are checked against the bytes left before anything is allocated, memo
/// indices must have been stored, and the machine never recurses, so no input can exhaust the stack.</para>
/// </remarks>
internal sealed class PickleMachine
{
    private const string RebuildTensor = "torch._utils._rebuild_tensor_v2";
    private const string RebuildParameter = "torch._utils._rebuild_parameter";
    private const string OrderedDict = "collections.OrderedDict";
    private const int MaxLineLength = 256;
    private const int MaxRank = 32;

    private readonly byte[] _data;
    private readonly string _file;
    private readonly string _entry;
    private readonly Func<object[], long, TorchStorage> _persistentLoad;
    private readonly List<object> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object> _memo = [];
    private int _pos;
    private int _opStart;

    /// <param name="data">The pickle bytes (the archive's data.pkl).</param>
    /// <param name="file">The file name for errors.</param>
    /// <param name="entry">The pickle's archive entry name for errors.</param>
    /// <param name="persistentLoad">Resolves a persistent id tuple to a storage (checking its archive entry), or throws.</param>
    public PickleMachine(byte[] data, string file, string entry, Func<object[], long, TorchStorage> persistentLoad)
    {
        _data = data;
        _file = file;
        _entry = entry;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Runs the pickle to its STOP and returns the one value left on the stack.</summary>
    public object Run()
    {
        while (true)
        {
            _opStart = _pos;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    byte protocol = ReadByte();
                    if (protocol is < 2 or > 5) throw Error($"pickle protocol {protocol} is not supported (torch.save writes 2; 2 to 5 are read)");
                    break;
                case 0x95: // FRAME: an 8-byte length of the frame that follows; framing changes nothing about the opcodes
                    ulong frame = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
                    if (frame > (ulong)(_data.Length - _pos)) throw Error($"FRAME of {frame} bytes runs past the end of the pickle ({_data.Length - _pos} bytes left)");
                    break;
                case (byte)'.': // STOP
                    if (_marks.Count != 0 || _stack.Count != 1)
                        throw Error($"STOP with {_stack.Count} values on the stack and {_marks.Count} open marks (expected exactly one value)");
                    return _stack[0];
                case (byte)'(': _marks.Push(_stack.Count); break; // MARK
                case (byte)'}': Push(new PickleDict(ordered: false)); break; // EMPTY_DICT
                case (byte)']': Push(new List<object>()); break; // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object>()); break; // EMPTY_TUPLE
                case (byte)'t': Push(PopToMark().ToArray()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: // TUPLE2
                {
                    object b = Pop(), a = Pop();
                    Push(new[] { a, b });
                    break;
                }
                case 0x87: // TUPLE3
                {
                    object c = Pop(), b = Pop(), a = Pop();
                    Push(new[] { a, b, c });
                    break;
                }
                case (byte)'N': Push(PickleNone.Value); break; // NONE
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                case 0x8a: Push(ReadLong1()); break; // LONG1
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                case (byte)'X': Push(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // BINUNICODE
                case 0x8c: Push(ReadString(ReadByte())); break; // SHORT_BINUNICODE
                case 0x8d: Push(ReadString(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))); break; // BINUNICODE8
                case (byte)'q': _memo[ReadByte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': Push(MemoGet(ReadByte())); break; // BINGET
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // LONG_BINGET
                case (byte)'s': // SETITEM
                {
                    object value = Pop(), key = Pop();
                    SetItem(PeekAs<PickleDict>("SETITEM"), key, value);
                    break;
                }
                case (byte)'u': // SETITEMS
                {
                    var items = PopToMark();
                    if (items.Count % 2 != 0) throw Error($"SETITEMS with an odd number ({items.Count}) of keys and values");
                    var dict = PeekAs<PickleDict>("SETITEMS");
                    for (int i = 0; i < items.Count; i += 2) SetItem(dict, items[i], items[i + 1]);
                    break;
                }
                case (byte)'a': // APPEND
                {
                    object value = Pop();
                    PeekAs<List<object>>("APPEND").Add(value);
                    break;
                }
                case (byte)'e': // APPENDS
                {
                    var items = PopToMark();
                    PeekAs<List<object>>("APPENDS").AddRange(items);
                    break;
                }
                case (byte)'c': // GLOBAL: "module\nname\n"
                {
                    string module = ReadLine(), name = ReadLine();
                    Push(ResolveGlobal("GLOBAL", module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    object name = Pop(), module = Pop();
                    if (module is not string m || name is not string n) throw Error("STACK_GLOBAL needs two strings (module and name) on the stack");
                    Push(ResolveGlobal("STACK_GLOBAL", m, n));
                    break;
                }
                case (byte)'R': Reduce(); break; // REDUCE
                case (byte)'b': Build(); break; // BUILD
                case (byte)'Q': // BINPERSID
                {
                    if (Pop() is not object[] pid) throw Error("BINPERSID needs a tuple persistent id");
                    Push(_persistentLoad(pid, _opStart));
                    break;
                }
                case (byte)'i': // INST "module\nname\n": imports and instantiates in one step
                {
                    string module = ReadLine(), name = ReadLine();
                    throw Unsafe("INST", $"{module}.{name}", $"INST {module}.{name} would import and instantiate a class; a state dict never needs it");
                }
                case (byte)'o': throw Unsafe("OBJ", null, "OBJ would instantiate the class on the stack; a state dict never needs it");
                case 0x81: throw Unsafe("NEWOBJ", null, "NEWOBJ would instantiate the class on the stack (cls.__new__); a state dict never needs it");
                case 0x92: throw Unsafe("NEWOBJ_EX", null, "NEWOBJ_EX would instantiate the class on the stack; a state dict never needs it");
                case 0x82 or 0x83 or 0x84: throw Unsafe("EXT", null, "EXT1/EXT2/EXT4 would import a global from the copyreg extension registry; not allowed");
                default:
                    throw Error($"opcode 0x{op:x2}{Printable(op)} is not one a torch.save state dict uses");
            }
        }
    }

    private static string Printable(byte op) => op is >= 0x20 and < 0x7f ? $" ('{(char)op}')" : "";

    // ---- globals and calls -------------------------------------------------------------------------------------------

    private PickleGlobal ResolveGlobal(string opcode, string module, string name)
    {
        string full = module + "." + name;
        if (full is OrderedDict or RebuildTensor or RebuildParameter || TorchStorageTypes.IsStorageType(module, name))
            return new PickleGlobal(module, name);
        throw Unsafe(opcode, full,
            $"global '{full}' is not allowed: a state dict needs only {OrderedDict}, {RebuildTensor}, {RebuildParameter} and torch storage types" +
            " (a pickled model class means the file holds a whole model: save model.state_dict() instead)");
    }

    private void Reduce()
    {
        object args = Pop(), callable = Pop();
        if (callable is not PickleGlobal global)
            throw Unsafe("REDUCE", null, $"REDUCE may call only an allowed global, not a {Describe(callable)}");
        if (args is not object[] a) throw Error($"REDUCE of {global} needs an argument tuple, got a {Describe(args)}");
        switch (global.FullName)
        {
            case OrderedDict:
                if (a.Length != 0) throw Error($"{OrderedDict} is called with {a.Length} arguments; torch.save builds it empty and fills it with SETITEMS");
                Push(new PickleDict(ordered: true));
                break;
            case RebuildTensor:
                Push(RebuildTensorV2(a));
                break;
            case RebuildParameter:
                // (data, requires_grad, backward_hooks): an nn.Parameter is its data tensor for a state dict.
                if (a.Length is < 2 or > 4 || a[0] is not TorchTensor data)
                    throw Error($"{RebuildParameter} expects (tensor, requires_grad, hooks), got {a.Length} arguments");
                Push(data);
                break;
            default:
                throw Unsafe("REDUCE", global.FullName, $"REDUCE of {global.FullName}: a storage type is allowed only inside a storage's persistent id");
        }
    }

    /// <summary>
    /// <c>_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])</c>, with
    /// the shape and strides checked against the storage so materialising the view can never read outside it.
    /// </summary>
    private TorchTensor RebuildTensorV2(object[] a)
    {
        if (a.Length is < 6 or > 7 || a[0] is not TorchStorage storage || a[1] is not long offset || a[2] is not object[] size || a[3] is not object[] stride)
            throw Error($"{RebuildTensor} expects (storage, offset, size tuple, stride tuple, requires_grad, hooks), got ({string.Join(", ", a.Select(Describe))})");
        if (size.Length != stride.Length) throw Error($"{RebuildTensor}: size has {size.Length} dimensions, stride {stride.Length}");
        if (size.Length > MaxRank) throw Error($"{RebuildTensor}: {size.Length} dimensions (at most {MaxRank} are read)");
        var dims = new int[size.Length];
        var strides = new long[size.Length];
        long numel = 1;
        for (int d = 0; d < size.Length; d++)
        {
            if (size[d] is not long s || s < 0 || s > int.MaxValue) throw Error($"{RebuildTensor}: size [{string.Join(", ", size)}] has an invalid dimension {d}");
            if (stride[d] is not long st || st < 0) throw Error($"{RebuildTensor}: stride [{string.Join(", ", stride)}] has an invalid entry {d}");
            dims[d] = (int)s;
            strides[d] = st;
            numel = numel * s > int.MaxValue ? long.MaxValue : numel * s;
        }
        if (numel > int.MaxValue || numel * storage.DType.ElementSize() > Array.MaxLength)
            throw Error($"{RebuildTensor}: size [{string.Join(", ", dims)}] has more elements than one array can hold");
        if (offset < 0 || offset > storage.ElementCount)
            throw Error($"{RebuildTensor}: storage offset {offset} lies outside storage '{storage.Key}' of {storage.ElementCount} elements");
        if (numel > 0)
        {
            // The last element the view reaches: offset + sum((size - 1) * stride). Int128 cannot overflow here
            // (32 dimensions of at most 2^31 x 2^63).
            Int128 last = offset;
            for (int d = 0; d < dims.Length; d++) last += (Int128)(dims[d] - 1) * strides[d];
            if (last >= storage.ElementCount)
                throw Error($"{RebuildTensor}: size [{string.Join(", ", dims)}] with stride [{string.Join(", ", strides)}] and offset {offset} " +
                            $"reaches element {last}, past the end of storage '{storage.Key}' ({storage.ElementCount} elements)");
        }
        return new TorchTensor(storage, offset, dims, strides);
    }

    private void Build()
    {
        object state = Pop();
        object target = Peek();
        // torch.save's only BUILD sets OrderedDict attributes ({'_metadata': ...}), which a state dict's values do not
        // depend on; the state is dropped. BUILD on anything else would mean __setstate__ or setattr on an object.
        if (target is not PickleDict || state is not (PickleDict or PickleNone))
            throw Unsafe("BUILD", null, $"BUILD on a {Describe(target)} with a {Describe(state)} state; only a dict's attributes may be set");
    }

    // ---- reading -----------------------------------------------------------------------------------------------------

    private byte ReadByte()
    {
        if (_pos >= _data.Length) throw Error(_pos == _opStart ? "the pickle ends before its STOP opcode (truncated file?)" : "the pickle ends inside an opcode (truncated file?)");
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> Take(ulong count)
    {
        if (count > (ulong)(_data.Length - _pos))
            throw Error($"an argument of {count} bytes runs past the end of the pickle ({_data.Length - _pos} bytes left; truncated or corrupt file?)");
        var span = _data.AsSpan(_pos, (int)count);
        _pos += (int)count;
        return span;
    }

    private string ReadString(ulong length)
    {
        var bytes = Take(length);
        try
        {
            return s_utf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw Error("a string is not valid UTF-8", e);
        }
    }

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos, Math.Min(MaxLineLength, _data.Length - _pos));
        if (end < 0)
            throw Error(_data.Length - _pos < MaxLineLength ? "the pickle ends inside an opcode (truncated file?)"
                : $"a GLOBAL/INST name is not terminated by a newline within {MaxLineLength} bytes");
        string line = ReadString((ulong)(end - _pos));
        _pos++;
        return line;
    }

    private long ReadLong1()
    {
        int n = ReadByte();
        if (n > 8) throw Error($"LONG1 of {n} bytes: integers beyond 64 bits do not occur in a state dict");
        var bytes = Take((ulong)n);
        if (n == 0) return 0;
        long value = (sbyte)bytes[n - 1]; // sign-extend the most significant byte
        for (int i = n - 2; i >= 0; i--) value = (value << 8) | bytes[i];
        return value;
    }

    // ---- stack and memo ----------------------------------------------------------------------------------------------

    private void Push(object value) => _stack.Add(value);

    private object Pop()
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw Error("an opcode needs a value but the stack is empty");
        object value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object Peek()
    {
        if (_stack.Count == 0) throw Error("an opcode needs a value but the stack is empty");
        return _stack[^1];
    }

    private T PeekAs<T>(string opcode) where T : class =>
        Peek() as T ?? throw Error($"{opcode} needs a {(typeof(T) == typeof(PickleDict) ? "dict" : "list")} on the stack, found a {Describe(Peek())}");

    private List<object> PopToMark()
    {
        if (_marks.Count == 0) throw Error("an opcode needs a MARK but none is open");
        int mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private object MemoGet(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Error($"memo index {index} was never stored ({_memo.Count} memo entries)");

    private void SetItem(PickleDict dict, object key, object value)
    {
        if (!dict.TrySet(key, value)) throw Error($"a dict key is a {Describe(key)}; a state dict's keys are strings or numbers");
    }

    internal static string Describe(object value) => value switch
    {
        PickleNone => "None",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        object[] => "tuple",
        List<object> => "list",
        PickleDict => "dict",
        PickleGlobal g => g.FullName,
        TorchStorage => "storage",
        TorchTensor => "tensor",
        _ => value.GetType().Name,
    };

    private TorchFormatException Error(string problem, Exception? inner = null) => new(_file, _entry, _opStart, problem, inner);

    private UnsafePickleException Unsafe(string opcode, string? global, string problem) => new(_file, _entry, _opStart, opcode, global, problem);
}
