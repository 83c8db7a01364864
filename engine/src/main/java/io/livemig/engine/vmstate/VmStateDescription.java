package io.livemig.engine.vmstate;

import io.livemig.engine.vmstate.VmStateField.*;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A declarative vmstate description (QEMU's {@code VMStateDescription}): name, version, minimum
 * version, typed fields, subsections with a {@code needed} predicate, and hooks. The same description
 * drives the encoder, the decoder ({@link VmStateCodec}) and the JSON vmdesc ({@link VmDescWriter}).
 *
 * <pre>
 * VmStateDescription timer = VmStateDescription.builder("timer").version(2).minimumVersion(1)
 *         .int64("cpu_ticks_offset").unused(8).int64("cpu_clock_offset", 2).build();
 * </pre>
 */
public final class VmStateDescription {
    /** Hooks; a hook that throws on load makes the load fail with a StreamFormatException naming it. */
    public interface PreSave {
        void preSave(VmState state);
    }

    public interface PreLoad {
        void preLoad(VmState state, int version);
    }

    public interface PostLoad {
        void postLoad(VmState state, int version);
    }

    public interface PostSave {
        void postSave(VmState state);
    }

    /** A subsection and when it is sent (given the parent's state). Names start with "parent/". */
    public record Subsection(VmStateDescription description, Predicate<VmState> needed) {}

    private final String name;
    private final int version;
    private final int minimumVersion;
    private final List<VmStateField> fields;
    private final List<Subsection> subsections;
    private final PreSave preSave;
    private final PostSave postSave;
    private final PreLoad preLoad;
    private final PostLoad postLoad;

    private VmStateDescription(Builder b) {
        this.name = b.name;
        this.version = b.version;
        this.minimumVersion = b.minimumVersion;
        this.fields = List.copyOf(b.fields);
        this.subsections = List.copyOf(b.subsections);
        this.preSave = b.preSave;
        this.postSave = b.postSave;
        this.preLoad = b.preLoad;
        this.postLoad = b.postLoad;
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    public String name() {
        return name;
    }

    public int version() {
        return version;
    }

    public int minimumVersion() {
        return minimumVersion;
    }

    public List<VmStateField> fields() {
        return fields;
    }

    public List<Subsection> subsections() {
        return subsections;
    }

    PreSave preSave() {
        return preSave;
    }

    PostSave postSave() {
        return postSave;
    }

    PreLoad preLoad() {
        return preLoad;
    }

    PostLoad postLoad() {
        return postLoad;
    }

    public Subsection subsection(String fullName) {
        for (Subsection s : subsections) {
            if (s.description().name().equals(fullName)) return s;
        }
        return null;
    }

    @Override
    public String toString() {
        return "VmStateDescription[" + name + " v" + version + " (min " + minimumVersion + "), " + fields.size() + " fields]";
    }

    public static final class Builder {
        private final String name;
        private int version = 1;
        private int minimumVersion = -1;
        private final List<VmStateField> fields = new ArrayList<>();
        private final List<Subsection> subsections = new ArrayList<>();
        private PreSave preSave;
        private PostSave postSave;
        private PreLoad preLoad;
        private PostLoad postLoad;

        private Builder(String name) {
            if (name.isEmpty() || name.length() > 255) throw new IllegalArgumentException("name \"" + name + "\"");
            this.name = name;
        }

        public Builder version(int v) {
            this.version = v;
            return this;
        }

        public Builder minimumVersion(int v) {
            this.minimumVersion = v;
            return this;
        }

        public Builder field(VmStateField f) {
            for (VmStateField g : fields) {
                if (g.name().equals(f.name()) && !(f instanceof UnusedField)) {
                    throw new IllegalArgumentException("duplicate field " + f.name() + " in " + name);
                }
            }
            fields.add(f);
            return this;
        }

        public Builder int8(String n) { return field(new IntField(n, 1, true, false, 0, 0)); }
        public Builder uint8(String n) { return field(new IntField(n, 1, false, false, 0, 0)); }
        public Builder int16(String n) { return field(new IntField(n, 2, true, false, 0, 0)); }
        public Builder uint16(String n) { return field(new IntField(n, 2, false, false, 0, 0)); }
        public Builder int32(String n) { return field(new IntField(n, 4, true, false, 0, 0)); }
        public Builder uint32(String n) { return field(new IntField(n, 4, false, false, 0, 0)); }
        public Builder int64(String n) { return field(new IntField(n, 8, true, false, 0, 0)); }
        public Builder uint64(String n) { return field(new IntField(n, 8, false, false, 0, 0)); }

        /** An integer field that exists from section version {@code since} on. */
        public Builder int64(String n, int since) { return field(new IntField(n, 8, true, false, 0, since)); }

        public Builder intField(String n, int bytes, boolean signed, int since) {
            return field(new IntField(n, bytes, signed, false, 0, since));
        }

        /** An equal-checked integer ({@code VMSTATE_UINT32_EQUAL} and friends). */
        public Builder intEqual(String n, int bytes, boolean signed, long value) {
            return field(new IntField(n, bytes, signed, true, value, 0));
        }

        public Builder bool(String n) { return field(new BoolField(n, 0)); }

        public Builder buffer(String n, int size) { return field(new BufferField(n, size, null, size, 0)); }

        /** A buffer whose length is the value of the earlier integer field {@code sizeField}. */
        public Builder vbuffer(String n, String sizeField, int maxSize) {
            return field(new BufferField(n, -1, sizeField, maxSize, 0));
        }

        public Builder unused(int size) { return field(new UnusedField("unused", size, 0)); }

        public Builder array(String n, VmStateField element, int count) {
            return field(new ArrayField(n, element, count, null, count, 0));
        }

        public Builder varray(String n, VmStateField element, String countField, int maxCount) {
            return field(new ArrayField(n, element, -1, countField, maxCount, 0));
        }

        public Builder struct(String n, VmStateDescription d) { return field(new StructField(n, d, 0)); }

        public Builder subsection(VmStateDescription d, Predicate<VmState> needed) {
            if (!d.name().startsWith(name)) {
                throw new IllegalArgumentException("subsection " + d.name() + " of " + name + " must start with the parent name");
            }
            subsections.add(new Subsection(d, needed));
            return this;
        }

        public Builder preSave(PreSave h) { this.preSave = h; return this; }
        public Builder postSave(PostSave h) { this.postSave = h; return this; }
        public Builder preLoad(PreLoad h) { this.preLoad = h; return this; }
        public Builder postLoad(PostLoad h) { this.postLoad = h; return this; }

        public VmStateDescription build() {
            if (minimumVersion < 0) minimumVersion = version;
            if (minimumVersion > version) {
                throw new IllegalArgumentException(name + ": minimumVersion " + minimumVersion + " > version " + version);
            }
            return new VmStateDescription(this);
        }
    }
}
