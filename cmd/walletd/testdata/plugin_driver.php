<?php
// Runs the WeFund guide's PHP functions, verbatim but for their base URL
// (argv[1]: the copy plugin_test.go wrote), with the WordPress shims,
// against a running walletd serve, and prints one JSON line per step for
// the Go test to check. The plugin key is in WEFUND_API_KEY.

require __DIR__ . '/wp_shims.php';
require $argv[1];

function step($name, $value) { echo json_encode(array('step' => $name, 'value' => $value)), "\n"; }

update_option('wefund_api_key', getenv('WEFUND_API_KEY'));

// 1. A token, as the guide's function gets it.
$jwt = generate_wefund_jwt_token();
step('token', array('ok' => is_string($jwt) && $jwt !== '', 'stored' => get_option('wefund_jwt_token') === $jwt, 'refresh' => get_option('wefund_refresh_token')));

// 2. A WooCommerce order completed: the hook the guide registers.
$GLOBALS['wc_orders'][1204] = new Fake_WC_Order(array(
    'id' => 1204, 'total' => '99.00', 'currency' => 'USD', 'status' => 'completed',
    'email' => 'test@example.com', 'first_name' => 'John', 'last_name' => 'Doe', 'phone' => '+1234567890', 'country' => 'US',
    'items' => array(array('name' => 'Challenge Account - $10,000', 'quantity' => 1, 'total' => '99.00',
        'meta' => array('account_size' => '10000', 'challenge_type' => 'standard'))),
));
foreach ($GLOBALS['wp_actions']['woocommerce_order_status_completed'] as $cb) {
    $cb(1204);
}
$o = $GLOBALS['wc_orders'][1204];
step('woo', array('meta' => $o->meta, 'notes' => $o->notes, 'saved' => $o->saved));

// 3. The same order again: 200 "Order already processed", which the
// guide's function counts as success.
$again = process_wefund_order(array('order_id' => 1204, 'total' => '99.00', 'currency' => 'USD',
    'customer' => array('email' => 'test@example.com'), 'products' => array()));
step('again', $again);

// 4. An EDD purchase (a float total, no status).
$GLOBALS['edd_downloads'][9] = 'Challenge $25,000';
$GLOBALS['wp_post_meta'][9]['account_size'] = '25000';
$GLOBALS['edd_payments'][77] = array('total' => 149.5, 'currency' => 'USD', 'email' => 'edd@example.com',
    'first_name' => 'Ann', 'last_name' => 'Lee', 'downloads' => array(array('id' => 9, 'price' => 149.5)));
foreach ($GLOBALS['wp_actions']['edd_complete_purchase'] as $cb) {
    $cb(77);
}
step('edd', $GLOBALS['edd_payments'][77]);

// 5. The stored JWT was spent: handle_wefund_api_error sees 401 and drops it.
$used = wp_remote_post(str_replace('generate-token', 'order/process', getenv('WEFUND_GENERATE_URL')), array(
    'headers' => array('Content-Type' => 'application/json'),
    'body' => json_encode(array('jwt_token' => get_option('wefund_jwt_token'), 'plugin_name' => 'Your Plugin Name',
        'order_data' => array('order_id' => 5))),
    'timeout' => 60,
));
$handled = handle_wefund_api_error($used, 'reuse');
step('reuse', array('code' => wp_remote_retrieve_response_code($used), 'handled' => $handled,
    'jwt_deleted' => get_option('wefund_jwt_token') === false, 'body' => json_decode(wp_remote_retrieve_body($used), true)));

// 6. A wrong key: no token, and the order is not processed.
update_option('wefund_api_key', 'wpk_nope.nope');
step('badkey', array('token' => generate_wefund_jwt_token(), 'process' => process_wefund_order(array('order_id' => 6))));

// 7. A connection refused is a WP_Error for handle_wefund_api_error.
step('down', handle_wefund_api_error(wp_remote_post('http://127.0.0.1:1/plugin/health/', array('timeout' => 2)), 'down'));

// 8. Failed key checks cost extra: soon 429, which handle_wefund_api_error
// recognises.
$last = null;
for ($i = 0; $i < 40; $i++) {
    $last = wp_remote_post(getenv('WEFUND_GENERATE_URL'), array('headers' => array('Content-Type' => 'application/json'),
        'body' => json_encode(array('plugin_name' => 'x', 'plugin_key' => 'wpk_x.y', 'plugin_version' => '1', 'site_url' => 'https://x.example')),
        'timeout' => 10));
    if (wp_remote_retrieve_response_code($last) === 429) {
        break;
    }
}
step('ratelimited', array('code' => wp_remote_retrieve_response_code($last), 'attempts' => $i + 1, 'handled' => handle_wefund_api_error($last, 'flood')));
