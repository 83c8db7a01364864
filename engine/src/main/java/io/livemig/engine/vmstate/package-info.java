/**
 * Declarative vmstate descriptions ({@link io.livemig.engine.vmstate.VmStateDescription}) driving the
 * encoder/decoder ({@link io.livemig.engine.vmstate.VmStateCodec}) and the JSON vmdesc
 * ({@link io.livemig.engine.vmstate.VmDescWriter}, formatted like QEMU's JSON writer); the standard
 * {@link io.livemig.engine.vmstate.TimerSection} and {@link io.livemig.engine.vmstate.GlobalStateSection}.
 */
package io.livemig.engine.vmstate;
