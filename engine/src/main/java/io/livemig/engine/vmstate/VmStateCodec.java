package io.livemig.engine.vmstate;

import io.livemig.engine.stream.ConfigurationSection;
import io.livemig.engine.stream.SectionType;
import io.livemig.engine.stream.StreamFormatException;
import io.livemig.engine.stream.StreamReader;
import io.livemig.engine.stream.StreamWriter;
import io.livemig.engine.vmstate.VmStateField.*;

import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes vmstate data (spec 5.1, 5.3) from a {@link VmStateDescription}; the encoder
 * optionally emits the matching vmdesc JSON object (spec 5.5) with the byte size of every field.
 */
public final class VmStateCodec {
    private VmStateCodec() {
    }

    /**
     * Writes {@code state} at the description's current version: fields, then needed subsections. When
     * {@code json} is non-null, writes {@code "vmsd_name", "version", "fields", ["subsections"]} members
     * into the JSON object the caller has opened.
     */
    public static void save(StreamWriter w, VmStateDescription d, VmState state, JsonOut json) {
        if (d.preSave() != null) d.preSave().preSave(state);
        if (json != null) {
            json.str("vmsd_name", d.name());
            json.num("version", d.version());
            json.startArray("fields");
        }
        List<String> seen = new ArrayList<>();
        for (VmStateField f : d.fields()) {
            if (f.sinceVersion() > d.version()) continue;
            int dup = 0;
            for (String s : seen) if (s.equals(f.name())) dup++;
            seen.add(f.name());
            String jsonName = dup == 0 ? f.name() : f.name() + "[" + dup + "]";
            saveField(w, d, f, state, json, jsonName);
        }
        if (json != null) json.endArray();
        boolean any = false;
        for (VmStateDescription.Subsection s : d.subsections()) {
            if (s.needed() != null && !s.needed().test(state)) continue;
            if (json != null && !any) json.startArray("subsections");
            any = true;
            VmStateDescription sd = s.description();
            VmState sub = state.has(sd.name()) ? state.getStruct(sd.name()) : new VmState();
            w.u8(SectionType.SUBSECTION.code());
            w.countedString(sd.name());
            w.be32(sd.version());
            if (json != null) json.startObject(null);
            save(w, sd, sub, json);
            if (json != null) json.endObject();
        }
        if (json != null && any) json.endArray();
        if (d.postSave() != null) d.postSave().postSave(state);
    }

    private static void saveField(StreamWriter w, VmStateDescription d, VmStateField f, VmState state, JsonOut json,
                                  String jsonName) {
        long start = w.position();
        switch (f) {
            case ArrayField a -> {
                List<Object> values = state.has(a.name()) ? state.getList(a.name()) : List.of();
                int n = a.fixedCount() >= 0 ? a.fixedCount() : (int) state.getLong(a.countField());
                if (values.size() != n) {
                    throw new IllegalArgumentException(d.name() + "." + a.name() + " has " + values.size()
                            + " elements, expected " + n);
                }
                boolean compress = !(a.element() instanceof StructField);
                for (int i = 0; i < n; i++) {
                    long es = w.position();
                    boolean describe = json != null && (!compress || i == 0);
                    if (describe) {
                        json.startObject(null);
                        json.str("name", jsonName);
                        if (n > 1) {
                            if (compress) json.num("array_len", n);
                            else json.num("index", i);
                        }
                        json.str("type", a.element().jsonType());
                    }
                    VmState holder = new VmState().put("e", values.get(i));
                    writeScalarOrStruct(w, d, a.element(), "e", holder, describe ? json : null);
                    if (describe) {
                        json.num("size", w.position() - es);
                        json.endObject();
                    }
                }
                return;
            }
            default -> {
                if (json != null) {
                    json.startObject(null);
                    json.str("name", jsonName);
                    json.str("type", f.jsonType());
                }
                writeScalarOrStruct(w, d, f, f.name(), state, json);
                if (json != null) {
                    json.num("size", w.position() - start);
                    json.endObject();
                }
            }
        }
    }

    private static void writeScalarOrStruct(StreamWriter w, VmStateDescription d, VmStateField f, String key,
                                            VmState state, JsonOut json) {
        switch (f) {
            case IntField i -> {
                long v = i.equal() ? i.equalValue() : state.has(key) ? state.getLong(key) : 0;
                switch (i.bytes()) {
                    case 1 -> w.u8((int) v);
                    case 2 -> w.be16((int) v);
                    case 4 -> w.be32((int) v);
                    default -> w.be64(v);
                }
            }
            case BoolField b -> w.u8(state.has(key) && state.getBool(key) ? 1 : 0);
            case BufferField b -> {
                int size = b.fixedSize() >= 0 ? b.fixedSize() : (int) state.getLong(b.sizeField());
                byte[] data = state.has(key) ? state.getBytes(key) : new byte[size];
                if (data.length < size) {
                    throw new IllegalArgumentException(d.name() + "." + f.name() + " has " + data.length + " bytes, expected " + size);
                }
                w.bytes(data, 0, size);
            }
            case UnusedField u -> w.zeros(u.size());
            case StructField s -> {
                VmState nested = state.has(key) ? state.getStruct(key) : new VmState();
                if (json != null) json.startObject("struct");
                save(w, s.description(), nested, json);
                if (json != null) json.endObject();
            }
            case ArrayField a -> throw new IllegalArgumentException("nested arrays are not supported: " + d.name() + "." + a.name());
        }
    }

    /**
     * Reads vmstate data written at {@code version} (the caller has checked it against the
     * description's version range), then any subsections, and runs the load hooks.
     */
    public static VmState load(StreamReader r, VmStateDescription d, int version) {
        VmState state = new VmState();
        if (d.preLoad() != null) runHook(() -> d.preLoad().preLoad(state, version), d, "pre_load", r.position());
        for (VmStateField f : d.fields()) {
            if (f.sinceVersion() > version) continue;
            loadField(r, d, f, f.name(), state, d.name() + "." + f.name());
        }
        while (ConfigurationSection.isSubsection(r, d.name())) {
            r.u8("subsection");
            long nameAt = r.position();
            String name = r.countedString(d.name() + ".subsection.name", false);
            VmStateDescription.Subsection s = d.subsection(name);
            if (s == null) {
                List<String> known = new ArrayList<>();
                d.subsections().forEach(x -> known.add(x.description().name()));
                throw new StreamFormatException(d.name() + ".subsection.name", "\"" + name + "\"",
                        "a known subsection of " + d.name() + " " + known, nameAt);
            }
            VmStateDescription sd = s.description();
            long verAt = r.position();
            long v = r.be32u(name + ".version");
            checkVersion(sd, v, name + ".version", verAt);
            state.put(name, load(r, sd, (int) v));
        }
        if (d.postLoad() != null) runHook(() -> d.postLoad().postLoad(state, version), d, "post_load", r.position());
        return state;
    }

    /** Checks a version read from the stream against {@code d}'s {@code [minimumVersion, version]}. */
    public static void checkVersion(VmStateDescription d, long v, String field, long at) {
        if (v > d.version() || v < d.minimumVersion()) {
            throw new StreamFormatException(field, v, d.minimumVersion() + ".." + d.version() + " for " + d.name(), at);
        }
    }

    private static void runHook(Runnable hook, VmStateDescription d, String which, long at) {
        try {
            hook.run();
        } catch (StreamFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new StreamFormatException(d.name() + "." + which, e.getMessage(), "the hook to accept the state", at, e);
        }
    }

    private static void loadField(StreamReader r, VmStateDescription d, VmStateField f, String key, VmState state,
                                  String path) {
        long at = r.position();
        switch (f) {
            case IntField i -> {
                long v = switch (i.bytes()) {
                    case 1 -> i.signed() ? (byte) r.u8(path) : r.u8(path);
                    case 2 -> i.signed() ? (short) r.be16(path) : r.be16(path);
                    case 4 -> i.signed() ? r.be32(path) : r.be32u(path);
                    default -> r.be64(path);
                };
                if (i.equal() && v != i.equalValue()) {
                    throw new StreamFormatException(path, v, i.equalValue() + " (an equal-checked field)", at);
                }
                state.put(key, v);
            }
            case BoolField b -> state.put(key, r.u8(path) != 0);
            case BufferField b -> {
                long size = b.fixedSize() >= 0 ? b.fixedSize() : sizeFrom(state, b.sizeField(), d, path);
                if (size < 0 || size > b.maxSize()) {
                    throw new StreamFormatException(path + ".size(" + b.sizeField() + ")", size, "0.." + b.maxSize(), at);
                }
                state.put(key, r.bytes((int) size, path));
            }
            case UnusedField u -> r.skip(u.size(), path);
            case StructField s -> state.put(key, load(r, s.description(), s.description().version()));
            case ArrayField a -> {
                long n = a.fixedCount() >= 0 ? a.fixedCount() : sizeFrom(state, a.countField(), d, path);
                if (n < 0 || n > a.maxCount()) {
                    throw new StreamFormatException(path + ".count(" + a.countField() + ")", n, "0.." + a.maxCount(), at);
                }
                List<Object> values = new ArrayList<>();
                VmState holder = new VmState();
                for (int k = 0; k < n; k++) {
                    loadField(r, d, a.element(), "e", holder, path + "[" + k + "]");
                    values.add(holder.get("e"));
                }
                state.put(key, values);
            }
        }
    }

    private static long sizeFrom(VmState state, String field, VmStateDescription d, String path) {
        if (!state.has(field)) throw new IllegalStateException("description error: " + path + " takes its size from " + field
                + ", which is not an integer field decoded before it");
        return state.getLong(field);
    }
}
