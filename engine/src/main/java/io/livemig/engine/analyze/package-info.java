/** {@code livemig analyze}: {@link io.livemig.engine.analyze.StreamAnalyzer#run}. */
package io.livemig.engine.analyze;
