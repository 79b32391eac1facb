//! REST request bodies (the wire shapes in `gateway_core::api`, shared with the
//! configuration file's `templates` block): any bytes either fail to decode or decode
//! and validate without panicking; accepted load-balancer settings read back the same
//! (the settings shown by `GET`, sent back as an update, give the same settings).
#![no_main]

use gateway_core::{
    LoadBalancerSettings,
    api::{CreateApiKey, CreateUser, LoadBalancerConfig, LoadBalancerUpdate, RegisterInstance, UpdateUser},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<RegisterInstance>(data) {
        let _ = body.clone().validate(None);
        let _ = body.validate(Some("fuzz-template"));
    }
    if let Ok(update) = serde_json::from_slice::<LoadBalancerUpdate>(data) {
        if let Ok(settings) = update.apply(LoadBalancerSettings::default()) {
            let shown = serde_json::to_vec(&LoadBalancerConfig::from(&settings))
                .expect("a view serialises");
            let again: LoadBalancerUpdate =
                serde_json::from_slice(&shown).expect("a shown view is a valid update");
            let back = again
                .apply(LoadBalancerSettings::default())
                .expect("shown settings validate");
            assert_eq!(back, settings, "settings do not read back the same");
        }
    }
    let _ = serde_json::from_slice::<CreateApiKey>(data);
    let _ = serde_json::from_slice::<CreateUser>(data);
    let _ = serde_json::from_slice::<UpdateUser>(data);
});
