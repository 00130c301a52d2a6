/** Test support shared by the modules' tests: a PostgreSQL server and a database per caller. */
package io.en57.testing;
