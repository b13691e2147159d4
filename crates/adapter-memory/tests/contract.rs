//! The in-memory store against the shared store-port contract.

use gatehouse_adapter_memory::MemoryStore;

gatehouse_application::store_contract_tests!(MemoryStore::new(), |store| store.clone());
