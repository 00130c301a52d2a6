/**
 * The examples of dcb.events written with En57's decision models ({@link io.en57.decisions}): each
 * class handles the commands of one example, and its test shows every rule, including under a race
 * of concurrent deciders on PostgreSQL.
 */
package io.en57.examples;
