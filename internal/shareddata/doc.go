// SPDX-License-Identifier: Apache-2.0

// Package shareddata finds the third-party test data that lives beside the
// repository, in ../shared/data from the repository root (never copied into
// it). Tests and benchmarks call Dir or Path; when the data is missing they
// fail with a message that says where it was looked for.
package shareddata
