package io.livemig.engine.vmstate;

/**
 * One field of a {@link VmStateDescription}, with the encoding of spec 5.1 (no names, tags or lengths on
 * the wire). {@code sinceVersion}: the field exists only when the section version is at least this.
 */
public sealed interface VmStateField {
    String name();

    int sinceVersion();

    /** QEMU's JSON type name. */
    String jsonType();

    /**
     * An integer of {@code bytes} = 1, 2, 4 or 8, big-endian; with {@code equal} set, the loader fails
     * unless the value read equals {@code equalValue} and the saver always writes it.
     */
    record IntField(String name, int bytes, boolean signed, boolean equal, long equalValue, int sinceVersion)
            implements VmStateField {
        public IntField {
            if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) throw new IllegalArgumentException("bytes=" + bytes);
        }

        @Override
        public String jsonType() {
            String t = (signed ? "int" : "uint") + (bytes * 8);
            return equal ? t + " equal" : t;
        }
    }

    /** One byte 0/1 (any non-zero loads as true). */
    record BoolField(String name, int sinceVersion) implements VmStateField {
        @Override
        public String jsonType() {
            return "bool";
        }
    }

    /**
     * Raw bytes, no length on the wire: {@code fixedSize} bytes, or as many as the already-decoded integer
     * field {@code sizeField} says (at most {@code maxSize}).
     */
    record BufferField(String name, int fixedSize, String sizeField, int maxSize, int sinceVersion) implements VmStateField {
        @Override
        public String jsonType() {
            return "buffer";
        }
    }

    /** {@code size} bytes written as zero and ignored on load ({@code VMSTATE_UNUSED}). */
    record UnusedField(String name, int size, int sinceVersion) implements VmStateField {
        @Override
        public String jsonType() {
            return "unused_buffer";
        }
    }

    /**
     * Elements back to back, no count on the wire: {@code fixedCount}, or the value of the already-decoded
     * integer field {@code countField} (at most {@code maxCount}). {@code element}'s name is ignored.
     */
    record ArrayField(String name, VmStateField element, int fixedCount, String countField, int maxCount, int sinceVersion)
            implements VmStateField {
        @Override
        public String jsonType() {
            return element.jsonType();
        }
    }

    /** A nested description: its fields, then its subsections; no header. */
    record StructField(String name, VmStateDescription description, int sinceVersion) implements VmStateField {
        @Override
        public String jsonType() {
            return "struct";
        }
    }
}
