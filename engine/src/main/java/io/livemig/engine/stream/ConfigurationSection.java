package io.livemig.engine.stream;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The configuration section (spec 1.3): the {@code configuration} vmstate without header, version or
 * footer.
 *
 * <pre>
 *   +----+-----------+----------------+----------------------------------------------+
 *   | 07 | be32 len  | machine (len)  | subsections: 05 u8 n name be32 ver payload ... |
 *   +----+-----------+----------------+----------------------------------------------+
 *   configuration/target-page-bits  v1: be32 bits
 *   configuration/capabilities      v1: be32 count, count x (u8 n, name)
 *   configuration/uuid              v1: 16 raw bytes
 * </pre>
 *
 * @param targetPageBits empty = the target's minimum (12 on x86)
 */
public record ConfigurationSection(String machineName, Optional<Integer> targetPageBits,
                                   List<String> capabilities, Optional<UUID> uuid) {
    public static final String NAME = "configuration";
    public static final String SUB_PAGE_BITS = "configuration/target-page-bits";
    public static final String SUB_CAPABILITIES = "configuration/capabilities";
    public static final String SUB_UUID = "configuration/uuid";
    /** QEMU refuses machine names longer than this (the name buffer is 256 bytes with a NUL). */
    public static final int MAX_NAME_BYTES = 255;
    /** Upper bound on the capability count we accept (7.2 has ~20 capabilities). */
    public static final int MAX_CAPABILITIES = 64;

    public ConfigurationSection {
        capabilities = List.copyOf(capabilities);
    }

    public static ConfigurationSection of(String machineName) {
        return new ConfigurationSection(machineName, Optional.empty(), List.of(), Optional.empty());
    }

    /** Writes the type byte and the body. */
    public void write(StreamWriter w) {
        w.u8(SectionType.CONFIGURATION.code());
        byte[] name = machineName.getBytes(StandardCharsets.ISO_8859_1);
        w.be32(name.length);
        w.bytes(name);
        targetPageBits.ifPresent(bits -> {
            subsectionHeader(w, SUB_PAGE_BITS);
            w.be32(bits);
        });
        if (!capabilities.isEmpty()) {
            subsectionHeader(w, SUB_CAPABILITIES);
            w.be32(capabilities.size());
            capabilities.forEach(w::countedString);
        }
        uuid.ifPresent(u -> {
            subsectionHeader(w, SUB_UUID);
            w.be64(u.getMostSignificantBits());
            w.be64(u.getLeastSignificantBits());
        });
    }

    private static void subsectionHeader(StreamWriter w, String name) {
        w.u8(SectionType.SUBSECTION.code());
        w.countedString(name);
        w.be32(1);
    }

    /** Reads the body after the 0x07 type byte. */
    public static ConfigurationSection readAfterType(StreamReader r) {
        long at = r.position();
        long len = r.be32u("configuration.name_length");
        if (len > MAX_NAME_BYTES) {
            throw new StreamFormatException("configuration.name_length", len, "<= " + MAX_NAME_BYTES, at);
        }
        String name = new String(r.bytes((int) len, "configuration.name"), StandardCharsets.ISO_8859_1);
        Optional<Integer> bits = Optional.empty();
        List<String> caps = List.of();
        Optional<UUID> uuid = Optional.empty();
        while (isSubsection(r, NAME)) {
            r.u8("configuration.subsection");
            long nameAt = r.position();
            String sub = r.countedString("configuration.subsection.name", false);
            long verAt = r.position();
            int version = r.be32("configuration.subsection.version");
            if (version != 1) {
                throw new StreamFormatException(sub + ".version", version & 0xFFFFFFFFL, "1", verAt);
            }
            switch (sub) {
                case SUB_PAGE_BITS -> bits = Optional.of(r.be32("configuration/target-page-bits.bits"));
                case SUB_CAPABILITIES -> {
                    long cat = r.position();
                    long count = r.be32u("configuration/capabilities.count");
                    if (count > MAX_CAPABILITIES) {
                        throw new StreamFormatException("configuration/capabilities.count", count,
                                "<= " + MAX_CAPABILITIES, cat);
                    }
                    List<String> list = new ArrayList<>();
                    for (int i = 0; i < count; i++) {
                        list.add(r.countedString("configuration/capabilities.name[" + i + "]", false));
                    }
                    caps = list;
                }
                case SUB_UUID -> {
                    ByteBuffer b = ByteBuffer.wrap(r.bytes(16, "configuration/uuid.bytes"));
                    uuid = Optional.of(new UUID(b.getLong(), b.getLong()));
                }
                default -> throw new StreamFormatException("configuration.subsection.name", "\"" + sub + "\"",
                        "one of " + SUB_PAGE_BITS + ", " + SUB_CAPABILITIES + ", " + SUB_UUID, nameAt);
            }
        }
        return new ConfigurationSection(name, bits, caps, uuid);
    }

    /**
     * The vmstate subsection peek rule (spec 5.3): the next byte is 0x05 and the counted name that
     * follows is longer than {@code parent} and starts with {@code parent + "/"}... QEMU only checks the
     * prefix {@code parent} and length {@code >= strlen(parent) + 1}; we do the same.
     */
    public static boolean isSubsection(StreamReader r, String parent) {
        if (r.peekU8() != SectionType.SUBSECTION.code()) return false;
        int len = r.peekU8(1);
        byte[] p = parent.getBytes(StandardCharsets.ISO_8859_1);
        if (len < 0 || len < p.length + 1) return false;
        for (int i = 0; i < p.length; i++) {
            if (r.peekU8(2 + i) != (p[i] & 0xFF)) return false;
        }
        return true;
    }

    /**
     * Checks this (received) configuration against the destination's: machine name by QEMU's prefix
     * rule, page bits, validated capabilities, and the uuid when both sides have one.
     *
     * @param at stream offset of the configuration section, for messages
     */
    public void validateAgainst(String localMachine, List<String> localValidatedCaps, Optional<UUID> localUuid, long at) {
        if (!localMachine.startsWith(machineName)) {
            throw new StreamFormatException("configuration.name", "\"" + machineName + "\"",
                    "\"" + localMachine + "\" (or a prefix of it)", at);
        }
        if (targetPageBits.isPresent() && targetPageBits.get() != 12) {
            throw new StreamFormatException("configuration/target-page-bits.bits", targetPageBits.get(), "12", at);
        }
        if (!new java.util.TreeSet<>(capabilities).equals(new java.util.TreeSet<>(localValidatedCaps))) {
            throw new StreamFormatException("configuration/capabilities", capabilities,
                    "the destination's validated capabilities " + localValidatedCaps, at);
        }
        if (uuid.isPresent() && localUuid.isPresent() && !uuid.get().equals(localUuid.get())) {
            throw new StreamFormatException("configuration/uuid", uuid.get(), localUuid.get().toString(), at);
        }
    }
}
